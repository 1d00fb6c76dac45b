// Package nodeclient lets Go tests drive pomeloctl's frontends with NetEase
// Pomelo's own JavaScript client code, fetched from npm and run under Node.
//
// Setup installs, once per machine and package list, the ws package, npm
// pomelo-protocol, npm pomelo-jsclient-websocket and the browser bundle that
// pomelo@2.2.7 ships for its project template (build.js: component loader,
// pomelo-protocol, pomelo-protobuf and the websocket jsclient). Env.Run then
// starts one harness script with a Scenario on stdin and collects the JSON
// events it prints:
//
//   - wsclient.js is one browser tab: build.js (or, with Scenario.Client
//     "jsclient", npm pomelo-jsclient-websocket@0.1.1 on top of it) in a
//     window-like context with ws as WebSocket and an in-memory localStorage,
//     used as chatofpomelo's page uses window.pomelo.
//   - tcpclient.js speaks the same scenario over raw TCP with npm
//     pomelo-protocol's Package and Message codecs.
//
// A test that needs to interleave clients uses Env.Start and Client.Await
// instead of Run, and Client.Signal to release a script parked in a
// waitSignal step.
package nodeclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The harness scripts Run accepts.
const (
	WSClient  = "wsclient.js"
	TCPClient = "tcpclient.js"
)

// Client script exit codes, as harness.js sets them.
const (
	exitStepFailed   = 1
	exitHarnessError = 2
)

// ScenarioError reports a script that did not run its scenario to the end:
// a step failed (exit code 1; Failure is the error event's text) or the
// harness itself could not start (exit code 2; see Stderr).
type ScenarioError struct {
	Script   string
	ExitCode int
	Failure  string
	Stderr   string
}

func (e *ScenarioError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s exited with code %d", e.Script, e.ExitCode)
	if e.Failure != "" {
		fmt.Fprintf(&b, ": %s", e.Failure)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "\nstderr:\n%s", s)
	}
	return b.String()
}

// Run runs one harness script (WSClient or TCPClient) with scenario, usually
// a Scenario, as JSON on stdin, and returns the events it printed. The error
// is a *ScenarioError when the scenario failed; the events up to the failure
// are returned with it. Node is killed when ctx ends.
func (e *Env) Run(ctx context.Context, script string, scenario any) (Events, error) {
	c, err := e.Start(ctx, script, scenario)
	if err != nil {
		return nil, err
	}
	return c.Wait()
}

// Client is one running harness script: one browser tab or one TCP client.
type Client struct {
	script string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *limitedBuffer
	// stdinMu keeps signal lines whole when Signal is called concurrently.
	stdinMu sync.Mutex
	ctx     context.Context

	mu      sync.Mutex
	events  Events
	changed chan struct{} // closed and replaced when events grows or the script ends
	ended   bool
	err     error
	exited  chan struct{}
}

// Eval runs JavaScript code under Node with the installed packages
// (require finds them), and gives what it printed on its standard output;
// a failure carries what it printed on its standard error.
func (e *Env) Eval(ctx context.Context, code string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, e.Node, "-e", code)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(e.Dir, "node_modules"))
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("nodeclient: node -e: %w\n%s", err, stderr.String())
	}
	return out, nil
}

// Start starts script with scenario and returns at once; events arrive in
// the background. The caller must call Wait.
func (e *Env) Start(ctx context.Context, script string, scenario any) (*Client, error) {
	if script != WSClient && script != TCPClient {
		return nil, fmt.Errorf("nodeclient: unknown script %q (want %s or %s)", script, WSClient, TCPClient)
	}
	data, err := json.Marshal(scenario)
	if err != nil {
		return nil, fmt.Errorf("nodeclient: scenario: %w", err)
	}
	cmd := exec.CommandContext(ctx, e.Node, filepath.Join(e.scripts, script))
	cmd.Env = append(os.Environ(), "NODECLIENT_DIR="+e.Dir)
	// Once node is killed, do not hang on a pipe some grandchild holds open.
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &Client{
		script:  script,
		cmd:     cmd,
		stdin:   stdin,
		stderr:  &limitedBuffer{max: 64 << 10},
		ctx:     ctx,
		changed: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("nodeclient: start %s: %w", script, err)
	}
	go c.read(stdout)
	// The scenario is the first line; later lines are signals, so stdin
	// stays open until Wait. A node that died at once shows in Wait.
	c.stdinMu.Lock()
	_, err = stdin.Write(append(data, '\n'))
	c.stdinMu.Unlock()
	if err != nil {
		_ = cmd.Process.Kill()
	}
	return c, nil
}

// read collects events until node closes stdout, then reaps it. Wait must
// not run before all output is read, hence here and not in Client.Wait.
func (c *Client) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	// Handshake events carry the whole answer, protos and dict included.
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			ev = Event{Kind: KindLog, Reason: "stdout", Text: string(line), Step: -1}
		}
		c.mu.Lock()
		c.events = append(c.events, ev)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	scanErr := sc.Err()
	if scanErr != nil {
		// Unblock node if it is still writing, then reap it.
		_ = c.cmd.Process.Kill()
	}
	waitErr := c.cmd.Wait()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	c.err = c.exitError(waitErr, scanErr)
	close(c.changed)
	close(c.exited)
}

// exitError turns node's end into Run's error; called with c.mu held.
func (c *Client) exitError(waitErr, scanErr error) error {
	if ctxErr := c.ctx.Err(); ctxErr != nil && waitErr != nil {
		return fmt.Errorf("nodeclient: %s killed: %w", c.script, ctxErr)
	}
	if scanErr != nil {
		return fmt.Errorf("nodeclient: reading %s events: %w", c.script, scanErr)
	}
	if waitErr == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) {
		return fmt.Errorf("nodeclient: %s: %w", c.script, waitErr)
	}
	se := &ScenarioError{Script: c.script, ExitCode: ee.ExitCode(), Stderr: c.stderr.String()}
	for _, ev := range c.events {
		if ev.Kind == KindError || ev.Kind == KindException {
			se.Failure = ev.Error
			break
		}
	}
	if se.ExitCode == exitStepFailed && se.Failure == "" {
		se.Failure = "step failed without an error event"
	}
	if se.ExitCode == exitHarnessError && se.Failure == "" {
		se.Failure = "harness could not start"
	}
	return se
}

// Events returns the events printed so far.
func (c *Client) Events() Events {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(Events(nil), c.events...)
}

// Await returns the first event, from the start of the run, for which match
// is true, waiting for it if need be. It fails when ctx ends or the script
// exits without printing one.
func (c *Client) Await(ctx context.Context, match func(Event) bool) (Event, error) {
	seen := 0
	for {
		c.mu.Lock()
		for ; seen < len(c.events); seen++ {
			if match(c.events[seen]) {
				ev := c.events[seen]
				c.mu.Unlock()
				return ev, nil
			}
		}
		if c.ended {
			err := c.err
			c.mu.Unlock()
			if err == nil {
				err = errors.New("script ended")
			}
			return Event{}, fmt.Errorf("nodeclient: %s: no matching event: %w", c.script, err)
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("nodeclient: %s: awaiting an event: %w", c.script, ctx.Err())
		}
	}
}

// Signal releases a waitSignal step with the same name (now or later).
func (c *Client) Signal(name string) error {
	line, err := json.Marshal(struct {
		Signal string `json:"signal"`
	}{name})
	if err != nil {
		return err
	}
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if ended {
		return fmt.Errorf("nodeclient: %s already exited", c.script)
	}
	// Not under c.mu: a full pipe must not stall the event reader.
	c.stdinMu.Lock()
	defer c.stdinMu.Unlock()
	_, err = c.stdin.Write(append(line, '\n'))
	return err
}

// Wait waits for the script to exit and returns all its events, with a
// *ScenarioError if the scenario did not complete.
func (c *Client) Wait() (Events, error) {
	<-c.exited
	_ = c.stdin.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(Events(nil), c.events...), c.err
}

// limitedBuffer keeps the first max bytes of stderr: enough to explain a
// crash, bounded if a client logs in a loop.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
