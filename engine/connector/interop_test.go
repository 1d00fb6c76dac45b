package connector

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
	"github.com/pomeloctl/pomeloctl/internal/nodeclient"
)

// These tests drive the frontend with clients we did not write: NetEase's browser
// client (pomelo@2.2.7's build.js, and pomelo-jsclient-websocket) and a TCP client
// on npm's pomelo-protocol, run under Node by internal/nodeclient.

const (
	routeEcho = "connector.entryHandler.echo"
	routePush = "connector.entryHandler.push"
	routeKick = "connector.entryHandler.kick"
	routeNote = "connector.entryHandler.note"
)

// interopServer is a frontend with a route dictionary, chatofpomelo's onChat
// server proto, a client proto for echo requests, and 1 s heartbeats.
func interopServer(t *testing.T) *Server {
	t.Helper()
	dict, err := protocol.NewDictionary([]string{routeEcho, routePush, routeKick, routeNote}, []string{"onChat", "onNote"})
	if err != nil {
		t.Fatal(err)
	}
	serverProtos := parseProtos(t, mustRead(t, "../../testdata/pomelo/chatofpomelo-websocket/serverProtos.json"))
	clientProtos := parseProtos(t, []byte(`{"connector.entryHandler.echo": {"required string msg": 1, "optional uInt32 n": 2}}`))
	s, _ := start(t, Config{Heartbeat: time.Second, Dict: dict, ServerProtos: serverProtos, ClientProtos: clientProtos})
	s.Handle("entryHandler.echo", func(_ context.Context, _ *Session, r *Request) (any, error) {
		return map[string]any{"code": 200, "echo": r.Body}, nil
	})
	s.Handle("entryHandler.push", func(_ context.Context, sess *Session, _ *Request) (any, error) {
		if err := sess.Push("onChat", map[string]any{"msg": "hello 你好", "from": "alice", "target": "*"}); err != nil {
			return nil, err
		}
		return map[string]int{"code": 200}, nil
	})
	s.Handle("entryHandler.kick", func(_ context.Context, sess *Session, _ *Request) (any, error) {
		return nil, sess.Kick("bye")
	})
	s.Handle("entryHandler.note", func(_ context.Context, sess *Session, r *Request) (any, error) {
		return nil, sess.Push("onNote", map[string]any{"seen": r.Body})
	})
	return s
}

func parseProtos(t *testing.T, data []byte) *protobuf.Protos {
	t.Helper()
	p, err := protobuf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nodeEnv(t *testing.T) *nodeclient.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := nodeclient.Setup(ctx)
	if err != nil {
		t.Fatalf("the interop tests need Node and npm's Pomelo clients: %v", err)
	}
	return env
}

func runScenario(t *testing.T, env *nodeclient.Env, script string, scn nodeclient.Scenario) nodeclient.Events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	evs, err := env.Run(ctx, script, scn)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, evs)
	}
	for _, kind := range []string{nodeclient.KindException, nodeclient.KindWarning, nodeclient.KindError} {
		if bad := evs.Of(kind); len(bad) > 0 {
			t.Errorf("%s reported %s:\n%s", script, kind, bad)
		}
	}
	return evs
}

// jsonEqual compares JSON texts by value.
func jsonEqual(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: got %s, not JSON: %v", what, got, err)
		return
	}
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s: got %s, want %s", what, gb, wb)
	}
}

// fullSession is one client's whole life: handshake and ack, a protobuf request,
// a notify, a protobuf push, heartbeats both ways, and a kick.
func fullSession(port int) []nodeclient.Step {
	return []nodeclient.Step{
		{Op: "init", Port: port},
		{Op: "request", Route: routeEcho, Msg: map[string]any{"msg": "hi", "n": 7}},
		{Op: "notify", Route: routeNote, Msg: map[string]any{"x": 1}},
		{Op: "waitPush", Route: "onNote"},
		{Op: "request", Route: routePush, Msg: map[string]any{}},
		{Op: "waitPush", Route: "onChat"},
		{Op: "waitHeartbeats", In: 2, Out: 1, TimeoutMs: 4000},
		{Op: "notify", Route: routeKick, Msg: map[string]any{}},
		{Op: "waitKick"},
	}
}

// fullSessionThenAgain is a full session, then a second connection from the same
// client, which then holds the dictionary's and protos' versions.
func fullSessionThenAgain(port int) []nodeclient.Step {
	return append(fullSession(port),
		nodeclient.Step{Op: "waitDisconnect"},
		nodeclient.Step{Op: "init", Port: port},
		nodeclient.Step{Op: "request", Route: routeEcho, Msg: map[string]any{"msg": "again"}},
	)
}

func checkFullSession(t *testing.T, evs nodeclient.Events, wantDict bool) {
	t.Helper()
	hs, ok := evs.First(nodeclient.KindHandshake, "")
	if !ok || hs.Code != 200 || hs.Sys == nil {
		t.Fatalf("no handshake answer:\n%s", evs)
	}
	if hs.Sys.Heartbeat != 1 || !hs.Sys.Protos || !hs.Sys.UseProto || hs.Sys.Dict != wantDict || hs.Sys.UseDict != true {
		t.Errorf("handshake sys: got %+v", *hs.Sys)
	}
	if r, ok := evs.First(nodeclient.KindResponse, routeEcho); !ok {
		t.Errorf("no echo response:\n%s", evs)
	} else {
		jsonEqual(t, "echo of a protobuf request", r.Body, `{"code":200,"echo":{"msg":"hi","n":7}}`)
	}
	if p, ok := evs.First(nodeclient.KindPush, "onNote"); !ok {
		t.Errorf("no onNote push after the notify:\n%s", evs)
	} else {
		jsonEqual(t, "onNote", p.Body, `{"seen":{"x":1}}`)
	}
	if p, ok := evs.First(nodeclient.KindPush, "onChat"); !ok {
		t.Errorf("no onChat push:\n%s", evs)
	} else {
		jsonEqual(t, "onChat decoded by the client's protobuf", p.Body, `{"msg":"hello 你好","from":"alice","target":"*"}`)
	}
	if k, ok := evs.First(nodeclient.KindKick, ""); !ok || !strings.Contains(k.Reason+string(k.Body), "bye") {
		t.Errorf("kick: got %+v, want the reason bye:\n%s", k, evs)
	}
	end, _ := evs.End()
	if end.Stats == nil || end.Stats.HeartbeatsIn < 2 || end.Stats.HeartbeatsOut < 1 || end.Stats.BatchedFrames != 0 {
		t.Errorf("stats: got %+v, want heartbeats both ways and one package per frame", end.Stats)
	}
}

func TestInteropBrowserClient(t *testing.T) {
	env := nodeEnv(t)
	s := interopServer(t)
	evs := runScenario(t, env, nodeclient.WSClient, nodeclient.Scenario{Client: "build", Steps: fullSession(addrPort(t, s))})
	checkFullSession(t, evs, true)
}

func TestInteropJSClientCachesProtos(t *testing.T) {
	env := nodeEnv(t)
	s := interopServer(t)
	steps := fullSessionThenAgain(addrPort(t, s))
	evs := runScenario(t, env, nodeclient.WSClient, nodeclient.Scenario{Client: "jsclient", Steps: steps})
	checkFullSession(t, evs, true)
	hs := evs.Of(nodeclient.KindHandshake)
	if len(hs) != 2 || hs[1].Sys == nil || hs[1].Sys.Protos {
		t.Errorf("a client that sent the current protoVersion must not get the protos again:\n%s", hs)
	}
}

func TestInteropTCPClient(t *testing.T) {
	env := nodeEnv(t)
	s := interopServer(t)
	steps := fullSessionThenAgain(addrPort(t, s))
	evs := runScenario(t, env, nodeclient.TCPClient, nodeclient.Scenario{Steps: steps})
	checkFullSession(t, evs, true)
	hs := evs.Of(nodeclient.KindHandshake)
	if len(hs) != 2 || hs[1].Sys == nil || hs[1].Sys.Dict || hs[1].Sys.Protos {
		t.Errorf("a client holding the current dictVersion and protoVersion must get neither again:\n%s", hs)
	}
}

func TestInteropHeartbeatTimeout(t *testing.T) {
	env := nodeEnv(t)
	s := interopServer(t)
	evs := runScenario(t, env, nodeclient.WSClient, nodeclient.Scenario{Client: "build", Steps: []nodeclient.Step{
		{Op: "init", Port: addrPort(t, s), NoHeartbeat: true},
		{Op: "waitDisconnect", TimeoutMs: 5000},
	}})
	hs, _ := evs.First(nodeclient.KindHandshake, "")
	closed, ok := evs.First(nodeclient.KindClose, "")
	if !ok || closed.At-hs.At < 1500 {
		t.Errorf("a client that sends no heartbeat must be dropped after two 1 s intervals, not before:\n%s", evs)
	}
}

// TestInteropManyRequests sends 130 requests from the browser build, which
// writes ids high 7 bits first: id 128 arrives as 81 00 and must still reach
// its callback.
func TestInteropManyRequests(t *testing.T) {
	env := nodeEnv(t)
	s := interopServer(t)
	steps := []nodeclient.Step{{Op: "init", Port: addrPort(t, s)}}
	for i := range 130 {
		steps = append(steps, nodeclient.Step{Op: "request", Route: routeEcho, Msg: map[string]any{"msg": "m", "n": i}})
	}
	evs := runScenario(t, env, nodeclient.WSClient, nodeclient.Scenario{Client: "build", Steps: steps, TimeoutMs: 30000})
	resp := evs.Of(nodeclient.KindResponse)
	if len(resp) != 130 {
		t.Fatalf("got %d responses, want 130", len(resp))
	}
	for i, r := range resp {
		var body struct {
			Echo struct{ N int } `json:"echo"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Echo.N != i {
			t.Errorf("response %d: got %s, want the echo of request %d", i, r.Body, i)
		}
	}
}

func addrPort(t *testing.T, s *Server) int {
	t.Helper()
	return s.Addr().(*net.TCPAddr).Port
}
