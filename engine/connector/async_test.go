package connector

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// An asynchronous handler answers later, from another goroutine: the
// client's next requests are read meanwhile, and each answer reaches the
// request it belongs to, whatever the order they come in.
func TestAsyncHandlerAnswersOutOfOrder(t *testing.T) {
	s, _ := start(t, Config{})
	type pending struct {
		body  string
		reply func(any, error)
	}
	got := make(chan pending, 16)
	s.HandleOtherAsync(func(_ context.Context, _ *Session, r *Request, reply func(any, error)) {
		got <- pending{string(r.Body), reply} // r.Body is copied: it is only valid until we return
	})
	c := dial(t, s, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 5
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, err := c.Request(ctx, "chat.chatHandler.send", fmt.Appendf(nil, `{"i":%d}`, i))
			answers[i] = fmt.Sprintf("%s %v", b, err)
		})
	}
	var all []pending
	for range n {
		select {
		case p := <-got:
			all = append(all, p)
		case <-ctx.Done():
			t.Fatalf("%d of %d requests reached the handler while none was answered", len(all), n)
		}
	}
	for i := len(all) - 1; i >= 0; i-- { // the last first
		p := all[i]
		go p.reply(map[string]string{"echo": p.body}, nil)
	}
	wg.Wait()
	for i, a := range answers {
		if want := fmt.Sprintf(`{"echo":"{\"i\":%d}"} <nil>`, i); a != want {
			t.Errorf("request %d: got %s, want %s", i, a, want)
		}
	}
	// a local handler still wins over the asynchronous one
	if got := request(t, c, "connector.entryHandler.echo", `{"x":1}`); got != `{"x":1}` {
		t.Errorf("a local route: %s", got)
	}
}
