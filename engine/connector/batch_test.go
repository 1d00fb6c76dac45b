package connector

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// Pushes queued faster than the writer writes go out in batches; over
// WebSocket each must still arrive as its own message, in order, before the
// response that followed them; also when pushes wait for a flush interval.
func TestBurstOfPushesArrivesInOrder(t *testing.T) {
	for _, flush := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(fmt.Sprint("flush=", flush), func(t *testing.T) { burstArrivesInOrder(t, flush) })
	}
}

func burstArrivesInOrder(t *testing.T, flush time.Duration) {
	s, _ := start(t, Config{FlushInterval: flush})
	const n = 500
	s.Handle("entryHandler.burst", func(_ context.Context, sess *Session, _ *Request) (any, error) {
		p, err := s.EncodePush("onBurst", map[string]string{"shared": "yes"})
		if err != nil {
			return nil, err
		}
		for i := range n {
			if i%2 == 0 {
				err = sess.Push("onBurst", map[string]int{"i": i})
			} else {
				err = sess.PushEncoded(p)
			}
			if err != nil {
				return nil, err
			}
		}
		return map[string]int{"code": 200}, nil
	})
	for _, tcp := range []bool{false, true} {
		var mu sync.Mutex
		var got []string
		c := dial(t, s, client.Options{TCP: tcp, OnPush: func(route string, body []byte) {
			mu.Lock()
			got = append(got, string(body))
			mu.Unlock()
		}})
		if resp := request(t, c, "connector.entryHandler.burst", `{}`); resp != `{"code":200}` {
			t.Fatalf("burst: %s", resp)
		}
		mu.Lock()
		if len(got) != n {
			t.Fatalf("tcp=%v: %d pushes before the response, want %d", tcp, len(got), n)
		}
		for i, body := range got {
			want := fmt.Sprintf(`{"i":%d}`, i)
			if i%2 == 1 {
				want = `{"shared":"yes"}`
			}
			if body != want {
				t.Fatalf("tcp=%v: push %d is %s, want %s", tcp, i, body, want)
			}
		}
		mu.Unlock()
	}
}
