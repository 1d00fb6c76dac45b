// Package redistest runs a real redis-server on loopback for tests
// (Debian's package, through engine/redisserver), on a free port with its
// files in the test's temporary folder, so that global channels are
// tested against the real thing and touch nothing else. install.sh --test
// installs the package.
package redistest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// StartTLS starts a redis-server that listens with TLS only, with a
// certificate for 127.0.0.1 made for the test; CA is that certificate's
// PEM file, for clients to trust.
func StartTLS(t testing.TB) (s *Server, ca string) {
	t.Helper()
	off, err := freeport.Offset(6379)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := selfSigned(cert, key); err != nil {
		t.Fatal(err)
	}
	s = &Server{srv: redisserver.Server{Dir: dir, Port: 6379 + off, TLSCert: cert, TLSKey: key}, t: t}
	s.Addr = s.srv.Addr()
	cmd, err := s.srv.Command()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server with TLS: %v", err)
	}
	s.cmd = cmd
	t.Cleanup(s.Kill)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", s.Addr, &tls.Config{InsecureSkipVerify: true}) // readiness only
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server with TLS on %s did not answer: %v", s.Addr, err)
		}
	}
	return s, cert
}

// selfSigned writes a certificate for 127.0.0.1, its own CA, and its key.
func selfSigned(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}
