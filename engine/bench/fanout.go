package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
)

// FanoutConfig is a fan-out run on the chat demo: Users players log in, in
// rooms of RoomSize, and each sends Rate messages a second to its whole room
// for Duration. Every message is pushed to every member of the room, the
// sender included, so the offered load is Users × RoomSize × Rate pushes a
// second.
type FanoutConfig struct {
	Login
	Users       int
	RoomSize    int     // default: Users, one room
	Rate        float64 // messages a second from each user; default 1
	Duration    time.Duration
	Concurrency int    // logins in progress at once; default 50
	SendRoute   string // default chat.chatHandler.send
	PushRoute   string // default onChat
	// Drain is how long to wait after the last send for pushes still on
	// their way; default 2 s. What has not arrived by then is lost.
	Drain    time.Duration
	Progress Progress
}

// FanoutResult is what a fan-out run measured. Latency is from the send to
// the push's arrival at each member.
type FanoutResult struct {
	Users      int           `json:"users"`
	RoomSize   int           `json:"roomSize"`
	Rate       float64       `json:"rate"`
	Elapsed    time.Duration `json:"elapsed"` // the sending window
	Sent       int64         `json:"sent"`
	SendErrors int64         `json:"sendErrors"`
	Expected   int64         `json:"expected"` // pushes the sent messages owe
	Delivered  int64         `json:"delivered"`
	Offered    float64       `json:"offeredPerSecond"`
	PerSecond  float64       `json:"deliveredPerSecond"`
	Latency    Percentiles   `json:"latency"`
	FirstErr   string        `json:"firstError,omitempty"`
}

// Fanout logs the users in, runs the sending window, waits for the pushes to
// drain and closes every connection.
func Fanout(ctx context.Context, cfg FanoutConfig) (*FanoutResult, error) {
	cfg = fanoutDefaults(cfg)
	f := &fanout{cfg: cfg, lat: newLatencies()}
	users, err := f.login(ctx)
	defer func() {
		for _, u := range users {
			u.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	res := f.send(ctx, users)
	return res, ctx.Err()
}

func fanoutDefaults(cfg FanoutConfig) FanoutConfig {
	cfg.Users = max(cfg.Users, 1)
	if cfg.RoomSize <= 0 || cfg.RoomSize > cfg.Users {
		cfg.RoomSize = cfg.Users
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 1
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 2 * time.Second
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.Concurrency == 1 && cfg.Users > 1 {
		cfg.Concurrency = 50
	}
	if cfg.SendRoute == "" {
		cfg.SendRoute = "chat.chatHandler.send"
	}
	if cfg.PushRoute == "" {
		cfg.PushRoute = "onChat"
	}
	return cfg
}

// fanout is one run's state, shared by every user's reading goroutine.
type fanout struct {
	cfg   FanoutConfig
	epoch time.Time // messages carry their send time as nanoseconds since epoch
	lat   *latencies

	delivered, malformed atomic.Int64
	// protos decodes pushes sent as pomelo-protobuf; set from the first
	// handshake, before any message is sent.
	protos  atomic.Pointer[protobuf.Protos]
	sending atomic.Bool
}

// login logs every user in, Concurrency at a time; all must make it.
func (f *fanout) login(ctx context.Context) ([]*client.Client, error) {
	f.epoch = time.Now()
	login := f.cfg.Login
	login.Options.OnPush = f.onPush
	users := make([]*client.Client, f.cfg.Users)
	var loggedIn, failed atomic.Int64
	var firstErr error
	var once sync.Once
	stop := progress(f.cfg.Progress, Status{Phase: "fanout login", Unit: "logins", Of: int64(f.cfg.Users)}, &loggedIn, &failed)
	next := atomic.Int64{}
	prefix := runPrefix("fan")
	var wg sync.WaitGroup
	for range min(f.cfg.Concurrency, f.cfg.Users) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= f.cfg.Users {
					return
				}
				c, err := login.Player(ctx, prefix+strconv.Itoa(i), prefix+"room-"+strconv.Itoa(i/f.cfg.RoomSize))
				if err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				users[i] = c
				loggedIn.Add(1)
				f.learnProtos(c)
			}
		})
	}
	wg.Wait()
	stop()
	kept := users[:0]
	for _, u := range users {
		if u != nil {
			kept = append(kept, u)
		}
	}
	if firstErr != nil {
		return kept, fmt.Errorf("%d of %d users could not log in; the first: %w", failed.Load(), f.cfg.Users, firstErr)
	}
	return kept, ctx.Err()
}

// learnProtos keeps the server protos of the first handshake that has some.
func (f *fanout) learnProtos(c *client.Client) {
	sys := c.Sys()
	if !sys.UseProto || f.protos.Load() != nil || len(sys.Protos) == 0 {
		return
	}
	var hs struct {
		Server json.RawMessage `json:"server"`
	}
	if json.Unmarshal(sys.Protos, &hs) != nil || len(hs.Server) == 0 {
		return
	}
	if p, err := protobuf.ParseJSON(hs.Server); err == nil {
		f.protos.CompareAndSwap(nil, p)
	}
}

// onPush records the latency of a chat message, whose text is its send time.
func (f *fanout) onPush(route string, body []byte) {
	if route != f.cfg.PushRoute || !f.sending.Load() {
		return
	}
	var text string
	if p := f.protos.Load(); p != nil && p.Has(route) {
		m, err := p.Decode(route, body)
		if err != nil {
			f.malformed.Add(1)
			return
		}
		text, _ = m["msg"].(string)
	} else {
		var m struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(body, &m) != nil {
			f.malformed.Add(1)
			return
		}
		text = m.Msg
	}
	sent, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f.malformed.Add(1)
		return
	}
	f.lat.add(time.Since(f.epoch) - time.Duration(sent))
	f.delivered.Add(1)
}

// send runs the sending window: each user sends at Rate from a random phase,
// each message its own request so that a slow answer never holds the next
// send back.
func (f *fanout) send(ctx context.Context, users []*client.Client) *FanoutResult {
	f.sending.Store(true)
	var sent, sendErrs, offered, expected atomic.Int64
	var firstErr atomic.Value
	wctx, cancel := context.WithTimeout(ctx, f.cfg.Duration)
	defer cancel()
	start := time.Now()
	stop := progress(f.cfg.Progress, Status{Phase: "fanout", Unit: "pushes", Total: f.cfg.Duration}, &f.delivered, &sendErrs)
	interval := time.Duration(float64(time.Second) / f.cfg.Rate)
	var wg, inflight sync.WaitGroup
	for i, u := range users {
		// the last room may be smaller than the others
		room := int64(min(f.cfg.RoomSize, len(users)-i/f.cfg.RoomSize*f.cfg.RoomSize))
		wg.Go(func() {
			select {
			case <-time.After(rand.N(interval)):
			case <-wctx.Done():
				return
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				body := `{"rid":"","content":"` + strconv.FormatInt(int64(time.Since(f.epoch)), 10) + `","from":"","target":"*"}`
				sent.Add(1)
				offered.Add(room)
				inflight.Go(func() {
					rctx, cancel := context.WithTimeout(ctx, f.cfg.Duration+f.cfg.Drain)
					defer cancel()
					if _, err := request(rctx, u, f.cfg.SendRoute, []byte(body)); err != nil {
						sendErrs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						return
					}
					expected.Add(room)
				})
				select {
				case <-tick.C:
				case <-wctx.Done():
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	inflight.Wait()
	deadline := time.Now().Add(f.cfg.Drain)
	for f.delivered.Load() < expected.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	res := &FanoutResult{
		Users: len(users), RoomSize: f.cfg.RoomSize, Rate: f.cfg.Rate, Elapsed: elapsed,
		Sent: sent.Load(), SendErrors: sendErrs.Load(), Expected: expected.Load(), Delivered: f.delivered.Load(),
		Latency: f.lat.percentiles(),
	}
	res.Offered = float64(offered.Load()) / elapsed.Seconds()
	res.PerSecond = float64(res.Delivered) / elapsed.Seconds()
	if e, ok := firstErr.Load().(string); ok {
		res.FirstErr = e
	}
	if n := f.malformed.Load(); n > 0 && res.FirstErr == "" {
		res.FirstErr = fmt.Sprintf("%d pushes on %s did not carry a send time", n, f.cfg.PushRoute)
	}
	return res
}
