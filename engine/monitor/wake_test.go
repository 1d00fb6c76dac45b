package monitor

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/internal/testlog"
)

// hourBackoff makes an agent wait half an hour or more after a failed
// attempt: one that registers within the tests' bound was woken.
func hourBackoff(c *AgentConfig) { c.Backoff = Backoff{Initial: time.Hour, Max: time.Hour} }

// An agent waiting out its back-off redials at once when it is woken, by
// Wake or by WakeSignal, as a new master that adopts its server does.
func TestWakeCutsTheBackoff(t *testing.T) {
	for _, tc := range []struct {
		name string
		wake func(*testAgent) error
	}{
		{"Wake", func(a *testAgent) error { a.Wake(); return nil }},
		{"WakeSignal", func(*testAgent) error { return syscall.Kill(os.Getpid(), WakeSignal) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// An address where nothing listens yet.
			h := startHub(t, HubConfig{}, "")
			addr := h.addr
			h.stop()
			var log testlog.Buffer
			a := newTestAgent(t, "s1", func() string { return "ws://" + addr + "/monitor" }, hourBackoff,
				func(c *AgentConfig) { c.Logger = log.Logger() }).start(t)
			eventually(t, "a failed attempt", func() bool { return strings.Contains(log.String(), "no link to the master") })

			startHub(t, HubConfig{MasterID: "master-2"}, addr)
			if err := tc.wake(a); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the woken agent registered", func() bool { return a.Master() == "master-2" })
			if n := a.hook.dials.Load(); n != 2 {
				t.Errorf("%d dials; want 2, the failed one and the one the wake made", n)
			}
		})
	}
}

// A wake that comes while the agent dials, before it knows the attempt
// failed, is kept for the wait that follows: the master that sent it may
// have started listening just after the agent's dial was refused.
func TestWakeWhileDialling(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1"}, "")
	dialling, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if first.CompareAndSwap(false, true) {
			close(dialling)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, errors.New("the first dial fails")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	a := newTestAgent(t, "s1", h.url, hourBackoff, func(c *AgentConfig) {
		c.Dialer = &websocket.Dialer{HandshakeTimeout: wait, NetDialContext: dial}
	}).start(t)
	select {
	case <-dialling:
	case <-time.After(wait):
		t.Fatal("the agent did not dial")
	}
	a.Wake()
	close(release)
	eventually(t, "the agent registered on the wake that came during its dial", func() bool { return a.Master() == "master-1" })
}
