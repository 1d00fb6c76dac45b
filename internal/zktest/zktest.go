// Package zktest runs a real ZooKeeper on loopback for tests: Debian's
// zookeeper package, started as its own Java process with a config of the
// test's own (a data directory in the test's temporary folder, a free port),
// so that tests of master HA run against the real thing and touch nothing
// else. install.sh --test installs the package.
package zktest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/freeport"
)

// Jar is where Debian's zookeeper package puts the server.
const Jar = "/usr/share/java/zookeeper.jar"

// TickTime is the test servers' tick: sessions from 2 ticks (200 ms) up to
// a minute may be asked for, and expire within a tick of their timeout.
const TickTime = 100 * time.Millisecond

// Server is one ZooKeeper server started by a test.
type Server struct {
	Addr string // host:port for clients
	dir  string
	port int
	cmd  *exec.Cmd
	t    testing.TB
}

// Start starts a ZooKeeper on 127.0.0.1 at a free port and waits until it
// answers; it is stopped when the test ends. A test that needs ZooKeeper
// and cannot have it fails: a skipped HA test is a missing one.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(Jar); err != nil {
		t.Fatalf("ZooKeeper is not installed (%v): run ./install.sh --deps, or apt-get install zookeeper", err)
	}
	off, err := freeport.Offset(2181)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: t.TempDir(), port: 2181 + off, t: t}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	cfg := fmt.Sprintf("tickTime=%d\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nminSessionTimeout=%d\nmaxSessionTimeout=60000\nadmin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,cons\n",
		TickTime.Milliseconds(), filepath.Join(s.dir, "data"), s.port, 2*TickTime.Milliseconds())
	if err := os.WriteFile(filepath.Join(s.dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	log, err := os.OpenFile(filepath.Join(s.dir, "zookeeper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer log.Close()
	s.cmd = exec.Command("java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-cp", "/etc/zookeeper/conf:"+Jar, "-Dzookeeper.log.dir="+s.dir,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(s.dir, "zoo.cfg"))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start ZooKeeper: %v", err)
	}
	if err := s.waitReady(20 * time.Second); err != nil {
		s.Kill()
		s.t.Fatalf("ZooKeeper on %s: %v; its log:\n%s", s.Addr, err, s.log())
	}
}

// waitReady waits until the server answers "imok" to "ruok".
func (s *Server) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if ok, _ := s.fourLetters("ruok"); strings.HasPrefix(ok, "imok") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fourLetters sends one of ZooKeeper's four-letter words and gives the
// answer.
func (s *Server) fourLetters(word string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(word)); err != nil {
		return "", err
	}
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String(), nil
}

// Sessions is how many client sessions the server holds.
func (s *Server) Sessions() (int, error) {
	out, err := s.fourLetters("cons")
	if err != nil {
		return 0, err
	}
	n := 0
	for line := range strings.Lines(out) {
		if strings.Contains(line, "sid=") {
			n++
		}
	}
	return n, nil
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

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "zookeeper.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
