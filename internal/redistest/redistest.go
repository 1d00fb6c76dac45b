// Package redistest runs a real redis-server on loopback for tests
// (Debian's package, through engine/redisserver), on a free port with its
// files in the test's temporary folder, so that global channels are
// tested against the real thing and touch nothing else. install.sh --test
// installs the package.
package redistest

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/redisserver"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
)

// Server is one redis-server started by a test.
type Server struct {
	Addr string
	srv  redisserver.Server
	cmd  *exec.Cmd
	t    testing.TB
}

// Start starts a redis-server on 127.0.0.1 at a free port and waits until
// it answers; it is stopped when the test ends. A test that needs Redis
// and cannot have it fails: a skipped test is a missing one.
func Start(t testing.TB) *Server {
	t.Helper()
	off, err := freeport.Offset(6379)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{srv: redisserver.Server{Dir: t.TempDir(), Port: 6379 + off}, t: t}
	s.Addr = s.srv.Addr()
	s.start()
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	cmd, err := s.srv.Command()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := redisserver.WaitReady(ctx, s.Addr); err != nil {
		s.Kill()
		s.t.Fatal(err)
	}
}

// Kill stops the server at once (SIGKILL), its data gone with it.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}
