package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// ConnectConfig is a connect run: Clients players log in as chatofpomelo's
// client does — the gate's queryEntry, then a handshake with the connector
// it names and the enter request — Concurrency at a time, in rooms of
// RoomSize.
type ConnectConfig struct {
	Gate        string // the gate's client address host:port
	TCP         bool
	Clients     int
	Concurrency int
	RoomSize    int
	QueryRoute  string // default gate.gateHandler.queryEntry
	EnterRoute  string // default connector.entryHandler.enter
	Progress    Progress
}

// ConnectResult is what a connect run measured: logins per second, and the
// latency of one login (gate, handshake, enter).
type ConnectResult struct {
	Name        string        `json:"name"`
	Clients     int           `json:"clients"`
	Concurrency int           `json:"concurrency"`
	LoggedIn    int64         `json:"loggedIn"`
	Errors      int64         `json:"errors"`
	Elapsed     time.Duration `json:"elapsed"`
	PerSecond   float64       `json:"perSecond"`
	Latency     Percentiles   `json:"latency"`
	FirstErr    string        `json:"firstError,omitempty"`
}

// Connect logs the clients in, then closes them all.
func Connect(ctx context.Context, cfg ConnectConfig) (*ConnectResult, error) {
	login := Login{Gate: cfg.Gate, QueryRoute: cfg.QueryRoute, EnterRoute: cfg.EnterRoute, Options: client.Options{TCP: cfg.TCP}}
	cfg.RoomSize = max(cfg.RoomSize, 1)
	prefix := runPrefix("bench")
	return connectRun(ctx, cfg, "connect", func(ctx context.Context, i int) (io.Closer, error) {
		return login.Player(ctx, prefix+strconv.Itoa(i), prefix+"room-"+strconv.Itoa(i/cfg.RoomSize))
	})
}

// connectRun logs cfg.Clients in with login, Concurrency at a time, keeps
// them until all are in, and closes them.
func connectRun(ctx context.Context, cfg ConnectConfig, name string, login func(context.Context, int) (io.Closer, error)) (*ConnectResult, error) {
	cfg.Concurrency = max(cfg.Concurrency, 1)
	res := &ConnectResult{Name: name, Clients: cfg.Clients, Concurrency: cfg.Concurrency}
	lat := newLatencies()
	var loggedIn, failed atomic.Int64
	var firstErr atomic.Value
	conns := make([]io.Closer, cfg.Clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	start := time.Now()
	stop := progress(cfg.Progress, Status{Phase: name, Unit: "logins", Of: int64(cfg.Clients)}, &loggedIn, &failed)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= cfg.Clients {
					return
				}
				t0 := time.Now()
				c, err := login(ctx, i)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat.add(time.Since(t0))
				conns[i] = c
				loggedIn.Add(1)
			}
		})
	}
	wg.Wait()
	stop()
	res.Elapsed = time.Since(start)
	res.LoggedIn, res.Errors = loggedIn.Load(), failed.Load()
	res.PerSecond = float64(res.LoggedIn) / res.Elapsed.Seconds()
	res.Latency = lat.percentiles()
	if e, ok := firstErr.Load().(string); ok {
		res.FirstErr = e
	}
	return res, ctx.Err()
}

// Login is how chatofpomelo's client enters: the gate's queryEntry, a
// handshake with the connector it names and, when Room is set, the enter
// request into that room.
type Login struct {
	Gate       string // the gate's client address host:port
	QueryRoute string // default gate.gateHandler.queryEntry
	EnterRoute string // default connector.entryHandler.enter
	Options    client.Options
}

// runPrefix starts the names of a run's players and rooms. Each run takes
// names of its own: a player of the run before may still be leaving its room
// (its session's close on its way to the chat server) when the next run's
// player of the same name enters, and that late leave would take the new one
// out of the room.
func runPrefix(kind string) string {
	return kind + "-" + strconv.FormatUint(rand.Uint64N(1<<30), 36) + "-"
}

// Player logs one player in as uid and returns its connection to the
// connector, which the caller closes.
func (l Login) Player(ctx context.Context, uid, room string) (*client.Client, error) {
	query, enter := cmp.Or(l.QueryRoute, "gate.gateHandler.queryEntry"), cmp.Or(l.EnterRoute, "connector.entryHandler.enter")
	gate, err := client.Dial(ctx, l.Gate, l.Options)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	resp, err := gate.Request(ctx, query, []byte(`{"uid":`+strconv.Quote(uid)+`}`))
	gate.Close()
	if err != nil {
		return nil, fmt.Errorf("queryEntry: %w", err)
	}
	var entry struct {
		Code int
		Host string
		Port int
	}
	if err := json.Unmarshal(resp, &entry); err != nil || entry.Code != 200 {
		return nil, fmt.Errorf("queryEntry answered %s", resp)
	}
	c, err := client.Dial(ctx, net.JoinHostPort(entry.Host, strconv.Itoa(entry.Port)), l.Options)
	if err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	if room == "" {
		return c, nil
	}
	body := fmt.Sprintf(`{"username":%q,"rid":%q}`, uid, room)
	if _, err := request(ctx, c, enter, []byte(body)); err != nil {
		c.Close()
		return nil, fmt.Errorf("enter: %w", err)
	}
	return c, nil
}
