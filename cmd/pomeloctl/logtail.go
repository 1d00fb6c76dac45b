package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pomeloctl/pomeloctl/engine/master"
)

// console writes whole lines from several sources to one terminal, each
// line after its source's name, coloured when the output is a terminal.
// Lines are queued and written by a goroutine of its own: the master's
// run loop logs through it, and must not stall on a terminal paused with
// Ctrl-S or a pipe nobody reads. What does not fit in the queue is
// dropped, and counted (every log is in its file anyway).
type console struct {
	out     io.Writer
	width   int
	color   bool
	mu      sync.Mutex // guards hues, closed and sending on queue
	hues    map[string]int
	closed  bool
	queue   chan string
	dropped atomic.Int64
	done    chan struct{}
}

// consoleQueue is how many lines may wait for the terminal.
const consoleQueue = 4096

func newConsole(out io.Writer, names []string) *console {
	c := &console{out: out, hues: map[string]int{}, color: isTerminal(out) && os.Getenv("NO_COLOR") == "",
		queue: make(chan string, consoleQueue), done: make(chan struct{})}
	for _, n := range names {
		c.width = max(c.width, len(n))
	}
	go c.run()
	return c
}

func (c *console) run() {
	defer close(c.done)
	for s := range c.queue {
		if n := c.dropped.Swap(0); n > 0 {
			fmt.Fprintf(c.out, "(%d lines dropped: the terminal did not keep up; every log is in its file)\n", n)
		}
		io.WriteString(c.out, s)
	}
}

// close writes what is queued and stops; lines after it are dropped.
func (c *console) close() {
	c.mu.Lock()
	c.closed = true
	close(c.queue)
	c.mu.Unlock()
	<-c.done
}

// palette: colours that read on dark and light backgrounds alike.
var palette = []int{33, 36, 35, 32, 34, 31, 93, 96, 95, 92, 94, 91}

// line queues one line of source name.
func (c *console) line(name, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	prefix := fmt.Sprintf("%-*s |", c.width, name)
	if c.color {
		hue, ok := c.hues[name]
		if !ok {
			hue = palette[len(c.hues)%len(palette)]
			c.hues[name] = hue
		}
		prefix = fmt.Sprintf("\x1b[%dm%s\x1b[0m", hue, prefix)
	}
	select {
	case c.queue <- prefix + " " + strings.TrimRight(text, "\r\n") + "\n":
	default:
		c.dropped.Add(1)
	}
}

// block queues text as it is (a table), waiting for room: only for the
// goroutine that closes the console, which may wait.
func (c *console) block(text string) { c.queue <- text }

// writer is an io.Writer whose lines go to the console under name.
func (c *console) writer(name string) io.Writer { return &lineWriter{c: c, name: name} }

type lineWriter struct {
	c       *console
	name    string
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.c.line(w.name, string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// tailLogs prints what servers write to their log files in dir, from what
// the files hold now, until ctx ends (then once more, for the last lines).
func tailLogs(ctx context.Context, dir master.RunDir, c *console) {
	offsets := map[string]int64{}
	writers := map[string]io.Writer{}
	logs := func() []string {
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(dir.Log("x")), "*.log"))
		return files
	}
	for _, f := range logs() {
		if fi, err := os.Stat(f); err == nil {
			offsets[f] = fi.Size()
		}
	}
	poll := func() {
		for _, f := range logs() {
			id := strings.TrimSuffix(filepath.Base(f), ".log")
			if id == "master" {
				continue
			}
			fh, err := os.Open(f)
			if err != nil {
				continue
			}
			if fi, err := fh.Stat(); err == nil && fi.Size() < offsets[f] {
				offsets[f] = 0 // truncated
			}
			if _, err := fh.Seek(offsets[f], io.SeekStart); err == nil {
				if writers[f] == nil {
					writers[f] = c.writer(id)
				}
				n, _ := io.Copy(writers[f], fh)
				offsets[f] += n
			}
			fh.Close()
		}
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			poll()
			return
		case <-t.C:
			poll()
		}
	}
}
