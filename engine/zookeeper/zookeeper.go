// Package zookeeper runs a ZooKeeper server for pomeloctl: Debian's
// zookeeper package, started as a Java process with a config of its own (a
// data directory, a port on loopback). `zookeeper: managed` clusters run
// one in their run directory for development (supervised by
// proc.Supervise), and the HA tests
// run one each (internal/zktest).
package zookeeper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Jar is where Debian's zookeeper package puts the server.
const Jar = "/usr/share/java/zookeeper.jar"

// ErrNotInstalled is returned when the zookeeper package is missing.
var ErrNotInstalled = errors.New("ZooKeeper is not installed: run ./install.sh --deps, or apt-get install zookeeper")

// Server is one ZooKeeper server's files and port.
type Server struct {
	Dir  string // its config, data and log
	Port int    // on 127.0.0.1
	// TickTime is ZooKeeper's tick: sessions may last from 2 ticks to a
	// minute (default 2s: Pomelo's deployments' 4s minimum session).
	TickTime time.Duration
	// Ensemble, when not empty, makes the server one of an ensemble: the
	// quorum addresses "host:peerPort:electionPort" of every member, this
	// one's the ID-th (from 1).
	Ensemble []string
	ID       int
}

// Addr is the server's client address.
func (s Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Log is the server's own output.
func (s Server) Log() string { return filepath.Join(s.Dir, "zookeeper.log") }

// Command writes the server's config and returns the command that runs
// it, in a process group of its own, its output to Log.
func (s Server) Command() (*exec.Cmd, error) {
	if _, err := os.Stat(Jar); err != nil {
		return nil, ErrNotInstalled
	}
	tick := s.TickTime
	if tick <= 0 {
		tick = 2 * time.Second
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, "data"), 0o755); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("tickTime=%d\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nminSessionTimeout=%d\nmaxSessionTimeout=60000\nadmin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,cons\n",
		tick.Milliseconds(), filepath.Join(s.Dir, "data"), s.Port, 2*tick.Milliseconds())
	for i, peer := range s.Ensemble {
		cfg += fmt.Sprintf("server.%d=%s\n", i+1, peer)
	}
	if len(s.Ensemble) > 0 {
		if err := os.WriteFile(filepath.Join(s.Dir, "data", "myid"), []byte(strconv.Itoa(s.ID)+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(s.Dir, "zoo.cfg")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(s.Log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-cp", "/etc/zookeeper/conf:"+Jar, "-Dzookeeper.log.dir="+s.Dir,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", conf)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

// Ready reports whether the server at addr answers "imok" to "ruok".
func Ready(addr string) bool {
	out, err := FourLetters(addr, "ruok")
	return err == nil && strings.HasPrefix(out, "imok")
}

// WaitReady waits until the server at addr is ready, or within passes.
func WaitReady(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !Ready(addr) {
		if time.Now().After(deadline) {
			return fmt.Errorf("ZooKeeper on %s: not ready within %s", addr, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// FourLetters sends one of ZooKeeper's four-letter words to addr and
// gives the answer.
func FourLetters(addr, word string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
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
