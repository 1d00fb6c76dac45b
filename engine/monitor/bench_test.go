package monitor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// benchWatcher is an agent that notes when it first sees, and stops
// seeing, the joiner.
type benchWatcher struct {
	*testAgent
	has    atomic.Bool
	seenAt atomic.Int64 // UnixNano of the OnMembers call that first held the joiner
	ch     chan struct{}
}

func (w *benchWatcher) waitFor(b *testing.B, has bool) {
	b.Helper()
	deadline := time.After(wait)
	for w.has.Load() != has {
		select {
		case <-w.ch:
		case <-deadline:
			b.Fatalf("watcher %s: joiner present = %v after %s; want %v", w.cfg.Register.ID, w.has.Load(), wait, has)
		}
	}
}

// BenchmarkJoinSeen measures how long a server joining a cluster of ten
// (itself and nine others) takes to appear in all nine others' OnMembers:
// ns/op from the joiner's Run starting (dial, upgrade, register included)
// to the last of the nine seeing it; fanout-ns/op from the hub's Joined
// event to that moment, the broadcast alone.
func BenchmarkJoinSeen(b *testing.B) {
	const joiner = "joiner"
	h := startHub(b, HubConfig{MasterID: "master-1", Settle: -1}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, events := h.Subscribe(ctx)

	var watchers []*benchWatcher
	for i := range 9 {
		w := &benchWatcher{ch: make(chan struct{}, 1)}
		w.testAgent = newTestAgent(b, fmt.Sprintf("watcher-%d", i), h.url, func(c *AgentConfig) {
			c.OnMembers = func(all []Member) {
				has := slices.ContainsFunc(all, func(m Member) bool { return m.ID == joiner })
				if has && !w.has.Load() {
					w.seenAt.Store(time.Now().UnixNano())
				}
				w.has.Store(has)
				select {
				case w.ch <- struct{}{}:
				default:
				}
			}
		}).start(b)
		watchers = append(watchers, w)
	}
	for range watchers {
		waitEvent(b, events, "watchers joined", func(e Event) bool { return e.Kind == Joined })
	}

	var fanout time.Duration
	b.ResetTimer()
	for range b.N {
		j := newTestAgent(b, joiner, h.url)
		j.start(b)
		for _, w := range watchers {
			w.waitFor(b, true)
		}
		b.StopTimer()
		e := waitEvent(b, events, "the joiner's Joined", is(Joined, joiner))
		var last int64
		for _, w := range watchers {
			last = max(last, w.seenAt.Load())
		}
		fanout += time.Unix(0, last).Sub(e.Time)
		j.stop(b)
		for _, w := range watchers {
			w.waitFor(b, false)
		}
		waitEvent(b, events, "the joiner's Left", is(Left, joiner))
		b.StartTimer()
	}
	b.ReportMetric(float64(fanout.Nanoseconds())/float64(b.N), "fanout-ns/op")
}

// BenchmarkHeartbeatFanIn measures the hub's cost per heartbeat with ten
// servers sending at once and a subscriber (the supervisor) following the
// events: ns/op is wall time per heartbeat handled.
func BenchmarkHeartbeatFanIn(b *testing.B) {
	const servers = 10
	h := startHub(b, HubConfig{MasterID: "master-1", Settle: -1}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, events := h.Subscribe(ctx)
	var drained sync.WaitGroup
	drained.Go(func() {
		for range events {
		}
	})

	tok := testTokens["connector"]
	var clients []*rawClient
	var readers sync.WaitGroup
	for i := range servers {
		c := dialRaw(b, h.url())
		c.send(b, registerJSON(fmt.Sprintf("s%d", i), 100+i, 1, tok))
		if f, err := c.read(b); err != nil || f.Welcome == nil {
			b.Fatalf("register s%d: %+v, %v", i, f, err)
		}
		// Keep reading (pings, membership) so the hub's writes never block.
		readers.Go(func() {
			for {
				if _, _, err := c.conn.ReadMessage(); err != nil {
					return
				}
			}
		})
		clients = append(clients, c)
	}
	hb := encode(frame{Heartbeat: &heartbeatMsg{Stats: Stats{CPU: 3.5, RSS: 30 << 20, Goroutines: 40, Connections: 500, RequestsPerSecond: 1200, Errors: 2}}})

	start := h.heartbeats.Load()
	b.ResetTimer()
	var senders sync.WaitGroup
	for i, c := range clients {
		n := b.N / servers
		if i < b.N%servers {
			n++
		}
		senders.Go(func() {
			for range n {
				if err := c.conn.WriteMessage(websocket.TextMessage, hb); err != nil {
					b.Errorf("send heartbeat: %v", err)
					return
				}
			}
		})
	}
	senders.Wait()
	deadline := time.Now().Add(wait)
	for h.heartbeats.Load()-start < uint64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("the hub handled %d of %d heartbeats within %s", h.heartbeats.Load()-start, b.N, wait)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	for _, c := range clients {
		c.conn.Close()
	}
	readers.Wait()
	h.stop()
	drained.Wait()
}
