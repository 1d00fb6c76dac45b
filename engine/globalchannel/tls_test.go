package globalchannel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pomeloctl/pomeloctl/internal/redistest"
	"github.com/pomeloctl/pomeloctl/topology"
)

// A Redis that listens with TLS is reached as the topology says
// (globalChannel.tls, and tlsCA for a private CA beside the topology);
// without its CA, or without TLS, it is refused with why.
func TestRedisOverTLS(t *testing.T) {
	srv, ca := redistest.StartTLS(t)
	dir := t.TempDir()
	data, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "redis-ca.pem"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(extra string) *topology.Topology {
		t.Helper()
		text := "name: t\nglobalChannel: {redis: " + srv.Addr + extra + "}\nservers: {chat: {instances: [{id: chat-server-1, port: 6050}]}}\n"
		top, _, err := topology.LoadBytes(filepath.Join(dir, "topology.yaml"), []byte(text), topology.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return top
	}
	ctx := context.Background()
	dialFor := func(top *topology.Topology) (*Redis, error) {
		cfg, err := ConfigOf(top)
		if err != nil {
			return nil, err
		}
		return DialRedis(ctx, cfg)
	}

	r, err := dialFor(load(", tls: true, tlsCA: redis-ca.pem"))
	if err != nil {
		t.Fatalf("Redis over TLS with its CA: %v", err)
	}
	defer r.Close()
	if err := r.Add(ctx, "world", "u1", "connector-server-1"); err != nil {
		t.Fatal(err)
	}
	if m, err := r.Members(ctx, "world", []string{"connector-server-1"}); err != nil || !sameSet(m["connector-server-1"], "u1") {
		t.Errorf("over TLS: %v %v", m, err)
	}

	if _, err := dialFor(load(", tls: true")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("TLS without the private CA: %v; want a certificate error", err)
	}
	if _, err := dialFor(load("")); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("plain TCP to a TLS port: %v; want an error naming Redis", err)
	}
	if _, err := ConfigOf(load(", tls: true, tlsCA: missing.pem")); err == nil || !strings.Contains(err.Error(), "globalChannel.tlsCA") {
		t.Errorf("a CA file that is not there: %v", err)
	}
}
