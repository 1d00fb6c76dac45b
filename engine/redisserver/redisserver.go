// Package redisserver runs a redis-server (Debian's package): the one `up`
// manages for development when globalChannel.redis is "managed", and the
// tests' own. Its data lives only in memory: a managed Redis is a
// development convenience, and global channels are rebuilt by the
// frontends after a restart anyway.
package redisserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a redis-server on loopback at Port, its files in Dir.
type Server struct {
	Dir      string
	Port     int
	Password string // requirepass, when not empty
	// TLSCert and TLSKey, PEM files, make it listen with TLS on Port (and
	// without it on none).
	TLSCert, TLSKey string
}

// Addr is where clients reach it.
func (s Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Command is the redis-server process, logging to its standard output,
// saving nothing to disk.
func (s Server) Command() (*exec.Cmd, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (./install.sh --deps installs it): %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("redis-server's folder: %w", err)
	}
	args := []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""}
	if s.Password != "" {
		args = append(args, "--requirepass", s.Password)
	}
	if s.TLSCert != "" {
		args[1] = "0" // --port: no plain listener
		args = append(args, "--tls-port", strconv.Itoa(s.Port), "--tls-cert-file", s.TLSCert, "--tls-key-file", s.TLSKey,
			"--tls-ca-cert-file", s.TLSCert, "--tls-auth-clients", "no")
	}
	cmd := exec.Command(path, args...)
	// A group of its own: its supervisor stops the group (proc.Supervise).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

// Ready reports whether a Redis answers at addr (a refusal to a client
// without the password counts: it is up).
func Ready(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

// WaitReady waits until a Redis answers at addr, or ctx ends.
func WaitReady(ctx context.Context, addr string) error {
	for !Ready(addr) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis at %s did not answer: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
