package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// A topology's web section is served as a Pomelo project's web-server
// serves its HTML5 client. It is a helper kind (managed.go): its
// supervisor (the hidden command "web") binds the port itself, so that a
// port it cannot have is an error at once, and hands the listening socket
// to each file server it runs (the hidden command "web-files"). A file
// server that dies is run again on the same socket: browsers meanwhile
// wait in its backlog rather than find the port closed.

// webServerHeader marks pomeloctl's file server, so that up tells its
// own web helper (already running: adopt it) from another program on the
// port (an error).
const webServerHeader = "pomeloctl"

// webAddr is where t's web folder is served; "" when t has none.
func webAddr(t *topology.Topology) string {
	if t.Web == nil {
		return ""
	}
	return net.JoinHostPort(t.Web.Host, strconv.Itoa(t.Web.Port))
}

// webURL is the address to open in a browser; "" when t has no web
// section.
func webURL(t *topology.Topology) string {
	if t.Web == nil {
		return ""
	}
	host := t.Web.Host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // every interface: loopback is one of them
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(t.Web.Port)) + "/"
}

// webHelper runs t's file server under the web supervisor.
func webHelper(t *topology.Topology, dir master.RunDir) proc.Helper {
	addr := webAddr(t)
	root := t.Path(t.Web.Root)
	// Bound on the first start and kept for the supervisor's life: every
	// file server it runs serves on this one socket.
	var socket *os.File
	command := func() (*exec.Cmd, error) {
		if socket == nil {
			f, err := listenFile(addr)
			if err != nil {
				return nil, err
			}
			socket = f
		}
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, "web-files", root)
		cmd.ExtraFiles = []*os.File{socket} // its fd 3
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		// A group of its own: its supervisor stops the group (proc.Supervise).
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd, nil
	}
	return proc.Helper{Name: "web server", Addr: addr, Log: dir.Log("web"), Command: command,
		WaitReady: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			for !webReady(addr) {
				select {
				case <-ctx.Done():
					return fmt.Errorf("the web server at %s did not answer: %w", addr, ctx.Err())
				case <-time.After(20 * time.Millisecond):
				}
			}
			return nil
		}}
}

// listenFile binds addr and returns the listening socket as a file, to
// hand to a child process.
func listenFile(addr string) (*os.File, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the web server cannot listen on %s (another program on that port? give web.port another number, or stop that program): %w", addr, err)
	}
	defer ln.Close() // the file is a duplicate, which keeps the socket open
	return ln.(*net.TCPListener).File()
}

// webReady reports whether pomeloctl's file server answers at addr.
func webReady(addr string) bool {
	cl := http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := cl.Get("http://" + addr + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.Header.Get("Server") == webServerHeader
}

// newWebFilesCmd is what the web supervisor runs: a file server on the
// listening socket it inherits as fd 3.
func newWebFilesCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "web-files ROOT",
		Short:  "Serve a folder over HTTP on an inherited socket (what up's web server runs)",
		Hidden: true,
		Args:   exactArgs(1, "ROOT"),
		RunE: func(c *cobra.Command, args []string) error {
			ln, err := net.FileListener(os.NewFile(3, "web socket"))
			if err != nil {
				return fmt.Errorf("web-files serves the socket pomeloctl's web supervisor hands it as fd 3, and has none: %w", err)
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, orphaned := context.WithCancel(ctx)
			defer orphaned()
			go func() {
				// A supervisor killed with SIGKILL cannot stop its server:
				// the server leaves with it.
				parent := os.Getppid()
				tick := time.NewTicker(500 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						if os.Getppid() != parent {
							orphaned()
							return
						}
					}
				}
			}()
			return serveFiles(ctx, ln, args[0], slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil)))
		},
	}
}

// serveFiles serves root on ln until ctx ends.
func serveFiles(ctx context.Context, ln net.Listener, root string, log *slog.Logger) error {
	files := http.FileServer(http.Dir(root))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Server", webServerHeader)
			// Pages under development: a reload shows the files as they are.
			w.Header().Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving the web folder", "root", root, "addr", ln.Addr().String())
	select {
	case err := <-served:
		return fmt.Errorf("the web server stopped: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("web server stopped")
	return nil
}
