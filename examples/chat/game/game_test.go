package game

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// TestChatFlow runs the chat demo's seven servers in this process under a
// monitor hub and plays its client's flow with Go clients: the gate, two
// users on different connectors, onAdd, chat to all and to one (onChat in
// pomelo-protobuf), a duplicate login refused, onLeave on disconnect.
// (NetEase's own client plays it against real processes elsewhere.)
func TestChatFlow(t *testing.T) {
	offset := runChat(t)
	data, err := os.ReadFile("../serverProtos.json")
	if err != nil {
		t.Fatal(err)
	}
	protos, err := protobuf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}

	alice := login(t, offset, protos, "alice", "lobby")
	bob := login(t, offset, protos, "bob", "lobby")
	if alice.port == bob.port {
		t.Logf("alice and bob share connector %d", alice.port)
	}
	if alice.users != `{"users":["alice"]}` || bob.users != `{"users":["alice","bob"]}` {
		t.Errorf("enter answers: %s, %s", alice.users, bob.users)
	}
	alice.wait(t, `onAdd {"user":"bob"}`)
	if strings.Contains(bob.all(), "onAdd") {
		t.Errorf("bob was told of himself: %s", bob.all())
	}
	// A second alice in the lobby is refused.
	dup := connect(t, offset, nil, alice.port)
	if got := request(t, dup, "connector.entryHandler.enter", `{"username":"alice","rid":"lobby"}`); got != `{"code":500,"error":true}` {
		t.Errorf("a duplicate login: %s", got)
	}
	dup.Close()
	// Chat to everyone, then to one.
	request(t, bob.c, "chat.chatHandler.send", `{"rid":"lobby","content":"hello all","from":"bob","target":"*","route":"onChat"}`)
	alice.wait(t, `onChat {"from":"bob","msg":"hello all","target":"*"}`)
	bob.wait(t, `onChat {"from":"bob","msg":"hello all","target":"*"}`)
	request(t, alice.c, "chat.chatHandler.send", `{"rid":"lobby","content":"psst","from":"alice","target":"bob"}`)
	bob.wait(t, `onChat {"from":"alice","msg":"psst","target":"bob"}`)
	if strings.Contains(alice.all(), "psst") {
		t.Error("a private message went to its sender")
	}
	if got := request(t, bob.c, "chat.chatHandler.echo", `{"n":1}`); !strings.Contains(got, `"code":200`) || !strings.Contains(got, `"server":"chat-server-`) {
		t.Errorf("echo: %s", got)
	}
	// Bob leaves: alice is told.
	bob.c.Close()
	alice.wait(t, `onLeave {"user":"bob"}`)

	// pomeloctl bench connect logs players in the same way.
	res, err := bench.Connect(context.Background(), bench.ConnectConfig{Gate: "127.0.0.1:" + strconv.Itoa(3014+offset), Clients: 60, Concurrency: 10, RoomSize: 20})
	if err != nil || res.LoggedIn != 60 || res.Errors != 0 || res.Latency.P50 <= 0 {
		t.Errorf("bench connect: %+v %v", res, err)
	}
}

type user struct {
	c     *client.Client
	port  int
	users string
	mu    sync.Mutex
	got   []string
}

func (u *user) all() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.got, "\n")
}

func (u *user) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(u.all(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no push %q; got:\n%s", want, u.all())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// login does what chatofpomelo's client does: ask the gate for a
// connector, then enter the room there.
func login(t *testing.T, offset int, protos *protobuf.Protos, name, rid string) *user {
	t.Helper()
	gate := connect(t, offset, nil, 3014+offset)
	var entry struct {
		Code int
		Host string
		Port int
	}
	if err := json.Unmarshal([]byte(request(t, gate, "gate.gateHandler.queryEntry", `{"uid":"`+name+`"}`)), &entry); err != nil || entry.Code != 200 {
		t.Fatalf("queryEntry: %+v %v", entry, err)
	}
	gate.Close()
	u := &user{port: entry.Port}
	u.c = connect(t, offset, func(route string, body []byte) {
		if route == "onChat" { // pomelo-protobuf, as the server protos say
			m, err := protos.Decode(route, body)
			if err != nil {
				t.Errorf("onChat: %v", err)
				return
			}
			body, _ = json.Marshal(m)
		}
		u.mu.Lock()
		u.got = append(u.got, route+" "+string(body))
		u.mu.Unlock()
	}, entry.Port)
	u.users = request(t, u.c, "connector.entryHandler.enter", `{"username":"`+name+`","rid":"`+rid+`"}`)
	return u
}

func connect(t *testing.T, _ int, onPush func(string, []byte), port int) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "127.0.0.1:"+strconv.Itoa(port), client.Options{OnPush: onPush})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func request(t *testing.T, c *client.Client, route, body string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Request(ctx, route, []byte(body))
	if err != nil {
		t.Fatalf("%s: %v", route, err)
	}
	return string(resp)
}

// cluster is a monitor hub and servers of the chat game in this process.
type cluster struct {
	tb  testing.TB
	top *topology.Topology
	hub *monitor.Hub
	url string
	app *server.App
}

func newCluster(tb testing.TB, top *topology.Topology) *cluster {
	hub := monitor.NewHub(monitor.HubConfig{MasterID: "master-server-1", Settle: -1,
		Tokens: func(_, _ string) (string, bool) { return "t", true }, Logger: quiet()})
	hs := httptest.NewServer(hub)
	tb.Cleanup(func() { hub.Close(); hs.Close() })
	return &cluster{tb: tb, top: top, hub: hub, url: strings.TrimPrefix(hs.URL, "http://"), app: App()}
}

// run starts server id and returns once it serves; it stops when the test ends.
func (c *cluster) run(id string) {
	c.tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	go func() {
		done <- server.Run(ctx, server.Config{Topology: c.top, ID: id, Master: c.url, Token: "t", App: c.app, Logger: quiet(), Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		c.tb.Fatalf("%s: %v", id, err)
	}
	c.tb.Cleanup(func() { cancel(); <-done })
}

// runChat runs the whole chat demo in this process, at a free port offset,
// which it returns.
func runChat(tb testing.TB) int { return runExample(tb, "../topology.yaml", App()) }

// chatExpr is the chat demo in YAML alone: no Go code runs it.
const chatExpr = "../../chat-expr/topology.yaml"

// runExample runs the whole cluster of a chat example's topology with
// app (nil for none) in this process, at a free port offset, which it
// returns.
func runExample(tb testing.TB, file string, app *server.App) int {
	tb.Helper()
	offset, err := freeport.Offset(3014, 3050, 3051, 3052, 4050, 4051, 4052, 6050, 6051, 6052)
	if err != nil {
		tb.Fatal(err)
	}
	top, _, err := topology.Load(file, topology.Options{PortOffset: &offset})
	if err != nil {
		tb.Fatal(err)
	}
	c := newCluster(tb, top)
	c.app = app
	c.runAll()
	return offset
}

// runAll starts every server of the topology, backends first, so that every
// frontend's first view of the cluster has every chat server (a room's server
// is crc32(rid) mod their number), and waits until all have registered.
func (c *cluster) runAll() {
	c.tb.Helper()
	servers := c.top.AllServers()
	slices.SortStableFunc(servers, func(a, b *topology.Server) int {
		return cmp.Compare(boolInt(a.Frontend), boolInt(b.Frontend))
	})
	for i, s := range servers {
		if i > 0 && s.Frontend && !servers[i-1].Frontend {
			c.waitMembers(i)
		}
		c.run(s.ID)
	}
	c.waitMembers(len(servers))
}

// waitMembers waits until n servers have registered.
func (c *cluster) waitMembers(n int) {
	c.tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(c.hub.Members()) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.tb.Fatalf("%d servers registered, want %d", len(c.hub.Members()), n)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
