// Package zktest runs a real ZooKeeper on loopback for tests (Debian's
// zookeeper package, through engine/zookeeper), with a data directory in
// the test's temporary folder and a free port, so that tests of master HA
// run against the real thing and touch nothing else. install.sh --test
// installs the package.
package zktest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/zookeeper"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
)

// TickTime is the test servers' tick: sessions from 2 ticks (200 ms) up to
// a minute may be asked for, and expire within a tick of their timeout.
const TickTime = 100 * time.Millisecond

// Server is one ZooKeeper server started by a test.
type Server struct {
	Addr string // host:port for clients
	srv  zookeeper.Server
	cmd  *exec.Cmd
	t    testing.TB
}

// Start starts a ZooKeeper on 127.0.0.1 at a free port and waits until it
// answers; it is stopped when the test ends. A test that needs ZooKeeper
// and cannot have it fails: a skipped HA test is a missing one.
func Start(t testing.TB) *Server {
	t.Helper()
	off, err := freeport.Offset(2181)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{srv: zookeeper.Server{Dir: t.TempDir(), Port: 2181 + off, TickTime: TickTime}, t: t}
	s.Addr = s.srv.Addr()
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// StartEnsemble starts an ensemble of n ZooKeeper servers on loopback
// and waits until every one serves; they are stopped when the test ends.
// Addrs are their client addresses, for ha.zookeeper.
func StartEnsemble(t testing.TB, n int) []*Server {
	t.Helper()
	ports := make([]int, 0, 3*n)
	for i := range 3 * n {
		ports = append(ports, 2181+i)
	}
	off, err := freeport.Offset(ports...)
	if err != nil {
		t.Fatal(err)
	}
	var peers []string
	for i := range n {
		peers = append(peers, fmt.Sprintf("127.0.0.1:%d:%d", 2181+off+n+2*i, 2181+off+n+2*i+1))
	}
	servers := make([]*Server, n)
	for i := range n {
		s := &Server{srv: zookeeper.Server{Dir: t.TempDir(), Port: 2181 + off + i, TickTime: TickTime, Ensemble: peers, ID: i + 1}, t: t}
		s.Addr = s.srv.Addr()
		cmd, err := s.srv.Command()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start ZooKeeper %d: %v", i+1, err)
		}
		s.cmd = cmd
		servers[i] = s
		t.Cleanup(s.Kill)
	}
	for _, s := range servers {
		// A member serves once a quorum has elected its leader: srvr then
		// says which it is.
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, _ := zookeeper.FourLetters(s.Addr, "srvr")
			if strings.Contains(out, "Mode: ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the ensemble member on %s does not serve within 60s: %q", s.Addr, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return servers
}

func (s *Server) start() {
	s.t.Helper()
	cmd, err := s.srv.Command()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start ZooKeeper: %v", err)
	}
	s.cmd = cmd
	if err := zookeeper.WaitReady(context.Background(), s.Addr, 20*time.Second); err != nil {
		s.Kill()
		log, _ := os.ReadFile(s.srv.Log())
		s.t.Fatalf("%v; its log:\n%s", err, log[max(0, len(log)-4000):])
	}
}

// Sessions is how many client sessions the server holds.
func (s *Server) Sessions() (int, error) {
	out, err := zookeeper.FourLetters(s.Addr, "cons")
	if err != nil {
		return 0, err
	}
	return strings.Count(out, "sid="), nil
}

// Kill kills the server at once (SIGKILL), its data kept for Restart.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port with the
// same data: sessions survive if clients reconnect within their timeout.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}
