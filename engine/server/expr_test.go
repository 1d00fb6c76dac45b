package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/internal/testlog"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// waitLog waits for a line of the cluster's log that holds every one of
// want.
func (c *exprCluster) waitLog(t *testing.T, want ...string) string {
	t.Helper()
	b := c.logs
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.Lines(b.String()) {
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", want, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exprCluster is a connector and a backend type "game" under a monitor
// hub, in this process, from a topology whose servers section is
// servers (its ports written as CONNECTOR, CLIENT and GAME), with app's Go
// code; the connector's and the game server's logs go to logs.
type exprCluster struct {
	top    *topology.Topology
	client int // the connector's client port
	logs   *testlog.Buffer
	stop   map[string]func() // by server id; each also runs when the test ends
	hub    *monitor.Hub
}

func runExprCluster(t *testing.T, text string, app *App) *exprCluster {
	t.Helper()
	// Ports clear of the ephemeral range, where clients' own ends could
	// take one between its check and its use.
	offset, err := freeport.Offset(3050, 4050, 6050)
	if err != nil {
		t.Fatal(err)
	}
	c := &exprCluster{client: 3050 + offset, logs: &testlog.Buffer{}, stop: map[string]func(){}}
	text = strings.NewReplacer("CONNECTOR", strconv.Itoa(4050+offset), "CLIENT", strconv.Itoa(c.client), "GAME", strconv.Itoa(6050+offset)).Replace(text)
	file := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load(file, topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.top = top
	hub, addr := hubFor(t)
	c.hub = hub
	log := c.logs.Logger()
	for _, id := range []string{"game-1", "connector-1"} {
		ctx, cancel := context.WithCancel(context.Background())
		done, ready := make(chan error, 1), make(chan struct{})
		cfg := Config{Topology: top, ID: id, Master: addr, Token: "s3cret", App: app, Logger: log, Ready: func() { close(ready) }}
		go func() { done <- Run(ctx, cfg) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("%s: %v", id, err)
		}
		var once sync.Once
		c.stop[id] = func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(c.stop[id])
	}
	return c
}

func (c *exprCluster) dial(t *testing.T) *client.Client {
	t.Helper()
	cl, err := client.Dial(context.Background(), "127.0.0.1:"+strconv.Itoa(c.client), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// request sends a request and gives its answer as JSON text.
func request(t *testing.T, cl *client.Client, route, body string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.Request(ctx, route, []byte(body))
	if err != nil {
		t.Fatalf("%s: %v", route, err)
	}
	return string(resp)
}

const exprTopology = `
master: {port: 3005}
hooks:
  afterStart: log("started", server.id)
  afterStartAll: log("all started", server.id)
  onServerAdded: log("added", peer.id, peer.type)
  onServerRemoved: log("removed", peer.id, peer.state)
servers:
  connector:
    frontend: true
    hooks:
      onSessionBind: log("bound", session.uid)
    handlers:
      entryHandler.login: 'session.bind(msg.uid); session.set("room", msg.room ?? "lobby"); {uid: session.uid, room: session.get("room")}'
    instances: [{id: connector-1, port: CONNECTOR, clientPort: CLIENT}]
  game:
    hooks:
      beforeStop: log("stopping", server.id, len(channel.members("room")))
    handlers:
      gameHandler.echo: '{msg: msg, server: server.id, uid: session.uid, room: session.get("room")}'
      gameHandler.divide: 'let d = int(msg.by);
        {n: 10 % d}'
      gameHandler.refuse: error(401, "log in first")
      gameHandler.join: '{members: rpc("game.gameRemote.join", {uid: session.uid, sid: session.frontendId})}'
      gameHandler.move: 'session.set("x", msg.x); {x: session.get("x")}'
    remotes:
      gameRemote.join: 'channel.add("room", args.uid, args.sid); channel.members("room")'
    instances: [{id: game-1, port: GAME}]
`

// Handlers and remotes written in expr run on the frontend (its own
// type's) and on backends, act on the session and the cluster, and a
// runtime failure answers 500 naming the route, is logged at its line
// and column in the topology, and the server goes on.
func TestExprHandlersRemotesAndHooks(t *testing.T) {
	c := runExprCluster(t, exprTopology, nil)
	cl := c.dial(t)
	if got := request(t, cl, "connector.entryHandler.login", `{"uid":"alice"}`); got != `{"room":"lobby","uid":"alice"}` {
		t.Errorf("login: %s", got)
	}
	if got := request(t, cl, "game.gameHandler.echo", `{"a":1}`); got != `{"msg":{"a":1},"room":"lobby","server":"game-1","uid":"alice"}` {
		t.Errorf("echo: %s", got)
	}
	if got := request(t, cl, "game.gameHandler.join", `{}`); got != `{"members":["alice"]}` {
		t.Errorf("join through a remote: %s", got)
	}
	// A backend's session.set reaches the frontend's session: the next
	// request carries it.
	request(t, cl, "game.gameHandler.move", `{"x":3}`)
	if got := request(t, cl, "game.gameHandler.move", `{"x":4}`); got != `{"x":4}` {
		t.Errorf("move: %s", got)
	}
	// error(code, message) crosses the hop with its code.
	if got := request(t, cl, "game.gameHandler.refuse", `{}`); got != `{"code":401,"msg":"log in first"}` {
		t.Errorf("refuse: %s", got)
	}
	// A division by zero: 500 with the route, logged at its place.
	got := request(t, cl, "game.gameHandler.divide", `{"by":0}`)
	if !strings.Contains(got, `"code":500`) || !strings.Contains(got, "game.gameHandler.divide: ") {
		t.Errorf("divide by zero: %s", got)
	}
	line := c.waitLog(t, "an expression failed", "route=game.gameHandler.divide")
	if want := filepath.Base(c.top.File) + ":22:"; !strings.Contains(line, want) || !strings.Contains(line, "key=servers.game.handlers.gameHandler.divide") {
		t.Errorf("the failure's log line %q does not say %s (line 22 of the topology)", line, want)
	}
	if got := request(t, cl, "game.gameHandler.divide", `{"by":4}`); got != `{"n":2}` {
		t.Errorf("after a failure: %s", got)
	}
	// Hooks: afterStart on each server, onServerAdded for the other one,
	// onSessionBind on the connector.
	c.waitLog(t, `msg="started game-1"`)
	c.waitLog(t, `msg="started connector-1"`)
	c.waitLog(t, `msg="added game-1 game"`, "server=connector-1")
	c.waitLog(t, `msg="added connector-1 connector"`, "server=game-1")
	c.waitLog(t, `msg="bound alice"`)
	if err := c.hub.Command(t.Context(), "game-1", monitor.CommandAfterStartAll, nil); err != nil {
		t.Fatal(err)
	}
	c.waitLog(t, `msg="all started game-1"`, "key=hooks.afterStartAll")
	// A stop: the game server's beforeStop, and the connector sees it go.
	c.stop["game-1"]()
	c.waitLog(t, `msg="stopping game-1 1"`, "key=servers.game.hooks.beforeStop")
	c.waitLog(t, `msg="removed game-1 stopped"`, "server=connector-1")
}

// The game's Go code registers the same hooks and filters.
func TestAppSessionAndPeerHooksAndFilters(t *testing.T) {
	app := NewApp()
	var mu sync.Mutex
	var events []string
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	app.OnServerAdded(func(sv *Services, peer scripting.Server) { note(sv.ID() + " saw " + peer.ID + " join") })
	app.Before("game", func(ctx context.Context, r *FilterRequest) error {
		if strings.HasSuffix(r.Route, ".refuse") {
			return &Error{Code: 418, Msg: "not here"}
		}
		return nil
	})
	app.After("", func(ctx context.Context, r *FilterRequest, res any, err error) {
		note(fmt.Sprintf("after %s %v", r.Route, err))
	})
	c := runExprCluster(t, exprTopology, app)
	cl := c.dial(t)
	if got := request(t, cl, "game.gameHandler.refuse", `{}`); got != `{"code":418,"msg":"not here"}` {
		t.Errorf("a Go before filter: %s", got)
	}
	request(t, cl, "game.gameHandler.echo", `{}`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		all := strings.Join(events, "\n")
		mu.Unlock()
		if strings.Contains(all, "connector-1 saw game-1 join") && strings.Contains(all, "after game.gameHandler.refuse 418: not here") && strings.Contains(all, "after game.gameHandler.echo <nil>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events:\n%s", all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answer decodes a JSON answer.
func answer(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}
