package nodeclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The fake server below is written from DESIGN §6 by hand, with no pomeloctl
// code: it proves the harness, not the server.

// Package types (DESIGN §6).
const (
	pkgHandshake    = 1
	pkgHandshakeAck = 2
	pkgHeartbeat    = 3
	pkgData         = 4
	pkgKick         = 5
)

// Message types, in bits 1-3 of the flag byte.
const (
	msgRequest  = 0
	msgNotify   = 1
	msgResponse = 2
	msgPush     = 3
)

// Routes the fake knows.
const (
	routeEnter = "connector.entryHandler.enter" // response, then an onChat push
	routeEcho  = "connector.entryHandler.echo"  // response only
	routeBye   = "connector.entryHandler.bye"   // notify: kick {"reason":"bye"}, then close
	routeEntry = "gate.gateHandler.queryEntry"  // {code: 200, host, port: fakeOptions.entry}
	routeChat  = "onChat"
)

// encodePackage: 1 byte type, 3 bytes big-endian length, body.
func encodePackage(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// chatProtos is onChat's server proto in pomelo-protobuf's parsed form, with
// the __tags and __messages tables its decoder looks fields up in.
const chatProtos = `{"onChat":{"msg":{"option":"required","type":"string","tag":1},` +
	`"from":{"option":"required","type":"string","tag":2},` +
	`"target":{"option":"required","type":"string","tag":3},` +
	`"__messages":{},"__tags":{"1":"msg","2":"from","3":"target"}}}`

const (
	fakeDictVersion  = "dict-v1"
	fakeProtoVersion = "proto-v1"
)

func chatPushJSON() []byte {
	return []byte(`{"msg":"hello","from":"server","target":"*"}`)
}

// chatPushProtobuf encodes the push as pomelo-protobuf does: per field in
// declared order, key (tag<<3 | wire type 2), length varint, UTF-8 bytes.
func chatPushProtobuf() []byte {
	var b []byte
	for i, f := range [][2]string{{"msg", "hello"}, {"from", "server"}, {"target", "*"}} {
		b = append(b, byte((i+1)<<3|2), byte(len(f[1])))
		b = append(b, f[1]...)
	}
	return b
}

type fakeOptions struct {
	dict   bool // answer with a route dict; compress push routes
	protos bool // answer with protos; onChat pushes in protobuf
	batch  bool // send a response and its push in one WebSocket frame
	entry  int  // the port a gate's queryEntry answers with
}

// fakeDict numbers the fake's routes as a Pomelo dictionary would.
func fakeDict() map[string]int {
	return map[string]int{routeBye: 1, routeEcho: 2, routeEnter: 3, routeChat: 4}
}

// seen is what the fake observed on one connection.
type seen struct {
	handshake  map[string]any
	requests   []seenMessage
	notifies   []seenMessage
	heartbeats int
	acked      bool
	err        error
}

type seenMessage struct {
	route      string
	compressed bool
	idBytes    []byte
	body       string
}

// fakeConn is one client connection, framing hidden: WebSocket carries a
// package per binary message, TCP a stream of them.
type fakeConn interface {
	read() (typ byte, body []byte, err error)
	write(pkgs ...[]byte) error // one frame on WebSocket
	close(kicked bool)
}

type wsFakeConn struct{ c *websocket.Conn }

func (w wsFakeConn) read() (byte, []byte, error) {
	mt, b, err := w.c.ReadMessage()
	if err != nil {
		return 0, nil, err
	}
	if mt != websocket.BinaryMessage {
		return 0, nil, fmt.Errorf("message type %d, want binary", mt)
	}
	if len(b) < 4 || len(b) != 4+(int(b[1])<<16|int(b[2])<<8|int(b[3])) {
		return 0, nil, fmt.Errorf("frame of %d bytes is not exactly one package: %x", len(b), b)
	}
	return b[0], b[4:], nil
}

func (w wsFakeConn) write(pkgs ...[]byte) error {
	return w.c.WriteMessage(websocket.BinaryMessage, bytes.Join(pkgs, nil))
}

func (w wsFakeConn) close(kicked bool) {
	if kicked {
		_ = w.c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, "kicked"), time.Now().Add(time.Second))
	}
	w.c.Close()
}

type tcpFakeConn struct {
	c net.Conn
	r *bufio.Reader
}

func (t tcpFakeConn) read() (byte, []byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(t.r, head[:]); err != nil {
		return 0, nil, err
	}
	body := make([]byte, int(head[1])<<16|int(head[2])<<8|int(head[3]))
	if _, err := io.ReadFull(t.r, body); err != nil {
		return 0, nil, err
	}
	return head[0], body, nil
}

func (t tcpFakeConn) write(pkgs ...[]byte) error {
	_, err := t.c.Write(bytes.Join(pkgs, nil))
	return err
}

func (t tcpFakeConn) close(bool) { t.c.Close() }

// fakeServer serves one transport and keeps what every connection showed.
type fakeServer struct {
	opts fakeOptions
	port int

	mu    sync.Mutex
	conns []*seen
}

func (f *fakeServer) report() []*seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*seen(nil), f.conns...)
}

func startFake(t *testing.T, transport string, opts fakeOptions) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{opts: opts, port: ln.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	if transport == TCPClient {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					f.serve(tcpFakeConn{c: c, r: bufio.NewReader(c)})
				}()
			}
		}()
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		return f
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		f.serve(wsFakeConn{c: c})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return f
}

// serve runs one connection: handshake, ack, heartbeat; then answers
// requests, replies to heartbeats, and kicks on the bye notify.
func (f *fakeServer) serve(c fakeConn) {
	s := &seen{}
	f.mu.Lock()
	f.conns = append(f.conns, s)
	f.mu.Unlock()
	record := func(fn func()) {
		f.mu.Lock()
		defer f.mu.Unlock()
		fn()
	}
	fail := func(err error) {
		record(func() { s.err = err })
		c.close(false)
	}

	typ, body, err := c.read()
	if err != nil || typ != pkgHandshake {
		fail(fmt.Errorf("first package: type %d, err %v; want a handshake", typ, err))
		return
	}
	var hs map[string]any
	if err := json.Unmarshal(body, &hs); err != nil {
		fail(fmt.Errorf("handshake %q: %w", body, err))
		return
	}
	record(func() { s.handshake = hs })
	clientSys, _ := hs["sys"].(map[string]any)
	sys := map[string]any{"heartbeat": 1}
	dict := map[string]int{}
	if f.opts.dict {
		dict = fakeDict()
		sys["useDict"] = true
		if clientSys["dictVersion"] != fakeDictVersion {
			sys["dict"] = dict
			sys["dictVersion"] = fakeDictVersion
		}
	}
	if f.opts.protos {
		sys["useProto"] = true
		if clientSys["protoVersion"] != fakeProtoVersion {
			sys["protos"] = map[string]any{"server": json.RawMessage(chatProtos), "client": map[string]any{}, "version": fakeProtoVersion}
		}
	}
	answer, _ := json.Marshal(map[string]any{"code": 200, "sys": sys})
	if err := c.write(encodePackage(pkgHandshake, answer)); err != nil {
		fail(err)
		return
	}
	if typ, _, err := c.read(); err != nil || typ != pkgHandshakeAck {
		fail(fmt.Errorf("after the handshake: type %d, err %v; want an ack", typ, err))
		return
	}
	record(func() { s.acked = true })
	// Like Pomelo: the first heartbeat right after the ack, then one in
	// answer to each of the client's.
	if err := c.write(encodePackage(pkgHeartbeat, nil)); err != nil {
		fail(err)
		return
	}
	for {
		typ, body, err := c.read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseNoStatusReceived) &&
				!strings.Contains(err.Error(), "use of closed") && !strings.Contains(err.Error(), "connection reset") {
				record(func() { s.err = err })
			}
			c.close(false)
			return
		}
		switch typ {
		case pkgHeartbeat:
			record(func() { s.heartbeats++ })
			if err := c.write(encodePackage(pkgHeartbeat, nil)); err != nil {
				fail(err)
				return
			}
		case pkgData:
			m, err := parseMessage(body, dict)
			if err != nil {
				fail(err)
				return
			}
			if m.typ == msgNotify {
				record(func() { s.notifies = append(s.notifies, m.seenMessage) })
				if m.route == routeBye {
					kick := encodePackage(pkgKick, []byte(`{"reason":"bye"}`))
					_ = c.write(kick)
					c.close(true)
					return
				}
				continue
			}
			if m.typ != msgRequest {
				fail(fmt.Errorf("message type %d from a client", m.typ))
				return
			}
			record(func() { s.requests = append(s.requests, m.seenMessage) })
			if err := f.answer(c, m, dict); err != nil {
				fail(err)
				return
			}
		default:
			fail(fmt.Errorf("package type %d after the handshake", typ))
			return
		}
	}
}

// answer writes the response, echoing the id bytes as they came (which
// works whatever order the client writes them in), and for routeEnter a push.
func (f *fakeServer) answer(c fakeConn, m message, dict map[string]int) error {
	body := fmt.Sprintf(`{"code":200,"route":%q,"echo":%s}`, m.route, m.body)
	if m.route == routeEntry {
		body = fmt.Sprintf(`{"code":200,"host":"127.0.0.1","port":%d}`, f.opts.entry)
	}
	resp := append([]byte{msgResponse << 1}, m.idBytes...)
	resp = append(resp, body...)
	pkgs := [][]byte{encodePackage(pkgData, resp)}
	if m.route == routeEnter {
		push := []byte{msgPush << 1}
		if code, ok := dict[routeChat]; ok {
			push[0] |= 1
			push = append(push, byte(code>>8), byte(code))
		} else {
			push = append(push, byte(len(routeChat)))
			push = append(push, routeChat...)
		}
		if f.opts.protos {
			push = append(push, chatPushProtobuf()...)
		} else {
			push = append(push, chatPushJSON()...)
		}
		pkgs = append(pkgs, encodePackage(pkgData, push))
	}
	if f.opts.batch {
		return c.write(pkgs...)
	}
	for _, p := range pkgs {
		if err := c.write(p); err != nil {
			return err
		}
	}
	return nil
}

type message struct {
	seenMessage
	typ int
}

// parseMessage reads a client message: flag, for a request the id bytes
// (kept raw), the route (length byte + UTF-8, or a 2-byte code), the body.
func parseMessage(b []byte, dict map[string]int) (message, error) {
	var m message
	if len(b) < 2 {
		return m, fmt.Errorf("message too short: %x", b)
	}
	m.typ = int(b[0]>>1) & 7
	m.compressed = b[0]&1 == 1
	i := 1
	if m.typ == msgRequest {
		start := i
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		i++
		if i > len(b) {
			return m, fmt.Errorf("truncated id: %x", b)
		}
		m.idBytes = append([]byte(nil), b[start:i]...)
	}
	if m.compressed {
		if i+2 > len(b) {
			return m, fmt.Errorf("truncated route code: %x", b)
		}
		code := int(b[i])<<8 | int(b[i+1])
		i += 2
		for r, c := range dict {
			if c == code {
				m.route = r
			}
		}
		if m.route == "" {
			return m, fmt.Errorf("route code %d not in the dict", code)
		}
	} else {
		n := int(b[i])
		if i+1+n > len(b) {
			return m, fmt.Errorf("truncated route: %x", b)
		}
		m.route = string(b[i+1 : i+1+n])
		i += 1 + n
	}
	m.body = string(b[i:])
	if !json.Valid(b[i:]) {
		return m, fmt.Errorf("body %q is not JSON", b[i:])
	}
	return m, nil
}

// setupEnv installs or reuses the npm packages. Failing, not skipping: an
// interop test that does not run must not count as passed.
func setupEnv(t *testing.T) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	env, err := Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Setup took %v (%s, node %s)", time.Since(start).Round(time.Millisecond), env.Dir, env.NodeVersion)
	return env
}

func run(t *testing.T, env *Env, script string, scn Scenario) Events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	evs, err := env.Run(ctx, script, scn)
	t.Logf("%s ran in %v", script, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%v\nevents:\n%s", err, evs)
	}
	if testing.Verbose() {
		t.Logf("events:\n%s", evs)
	}
	return evs
}

// variant is one client the harness offers.
type variant struct {
	name, script, client string
	sysType              string
	compresses           bool // writes routes as dict codes when it can
	cachesProtos         bool // sends protoVersion from a previous handshake
	cachesDict           bool // sends dictVersion from a previous handshake
}

func clientVariants() []variant {
	return []variant{
		{name: "build.js", script: WSClient, client: "build", sysType: "js-websocket"},
		{name: "jsclient", script: WSClient, client: "jsclient", sysType: "js-websocket", compresses: true, cachesProtos: true},
		{name: "tcp", script: TCPClient, sysType: "js-tcp", compresses: true, cachesProtos: true, cachesDict: true},
	}
}

func TestAgainstFakeServer(t *testing.T) {
	t.Parallel()
	env := setupEnv(t)
	modes := []struct {
		name string
		opts fakeOptions
	}{
		{"json", fakeOptions{}},
		{"dict+protobuf", fakeOptions{dict: true, protos: true}},
	}
	for _, v := range clientVariants() {
		for _, mode := range modes {
			t.Run(v.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				f := startFake(t, v.script, mode.opts)
				evs := run(t, env, v.script, Scenario{Client: v.client, Steps: []Step{
					{Op: "init", Port: f.port, User: map[string]any{"name": "alice"}},
					{Op: "request", Route: routeEnter, Msg: map[string]any{"username": "alice", "rid": "r1"}},
					{Op: "waitPush", Route: routeChat},
					{Op: "waitHeartbeats", In: 1, Out: 1, TimeoutMs: 3000},
					{Op: "notify", Route: routeBye},
					{Op: "waitKick"},
					{Op: "waitDisconnect"},
				}})
				checkFullRun(t, v, mode.opts, evs, f.report())
			})
		}
	}
}

func checkFullRun(t *testing.T, v variant, opts fakeOptions, evs Events, conns []*seen) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("events:\n%s", evs)
		}
	}()
	sent, ok := evs.First(KindHandshakeSent, "")
	if !ok {
		t.Fatal("no handshake-sent event")
	}
	var hsSent struct {
		Sys  map[string]any `json:"sys"`
		User map[string]any `json:"user"`
	}
	if err := json.Unmarshal(sent.Body, &hsSent); err != nil {
		t.Fatal(err)
	}
	if hsSent.Sys["type"] != v.sysType || hsSent.Sys["version"] != "0.0.1" || hsSent.User["name"] != "alice" {
		t.Errorf("handshake sent = %s, want sys {type %s, version 0.0.1}, user alice", sent.Body, v.sysType)
	}

	h, ok := evs.First(KindHandshake, "")
	if !ok || h.Code != 200 || h.Sys == nil {
		t.Fatalf("handshake event = %v, want code 200 with sys", h)
	}
	want := Sys{Heartbeat: 1, Dict: opts.dict, Protos: opts.protos, UseDict: opts.dict, UseProto: opts.protos}
	if opts.dict {
		want.DictVersion = fakeDictVersion
	}
	if opts.protos {
		want.ProtoVersion = fakeProtoVersion
	}
	if *h.Sys != want {
		t.Errorf("handshake sys = %+v, want %+v", *h.Sys, want)
	}
	if _, ok := evs.First(KindInit, ""); !ok {
		t.Error("no init event")
	}

	resp, ok := evs.First(KindResponse, routeEnter)
	if !ok {
		t.Fatal("no response event")
	}
	var rb struct {
		Code  int            `json:"code"`
		Route string         `json:"route"`
		Echo  map[string]any `json:"echo"`
	}
	if err := json.Unmarshal(resp.Body, &rb); err != nil || rb.Code != 200 || rb.Route != routeEnter || rb.Echo["username"] != "alice" || resp.ID != 1 {
		t.Errorf("response = id %d %s, want id 1 {code 200, route %s, echo {username alice, ...}}", resp.ID, resp.Body, routeEnter)
	}

	push, ok := evs.First(KindPush, routeChat)
	if !ok {
		t.Fatal("no onChat push")
	}
	var pb map[string]string
	if err := json.Unmarshal(push.Body, &pb); err != nil || pb["msg"] != "hello" || pb["from"] != "server" || pb["target"] != "*" {
		t.Errorf("push body = %s, want {msg hello, from server, target *}", push.Body)
	}

	kick, ok := evs.First(KindKick, "")
	if !ok || kick.Reason != "bye" {
		t.Errorf("kick = %v, want reason bye", kick)
	}
	if _, ok := evs.First(KindClose, ""); !ok {
		t.Error("no close event")
	}
	if n := len(evs.Of(KindHeartbeatIn)); n < 1 {
		t.Errorf("%d heartbeats in, want >= 1", n)
	}
	if n := len(evs.Of(KindHeartbeatOut)); n < 1 {
		t.Errorf("%d heartbeats out, want >= 1", n)
	}
	end, ok := evs.End()
	if !ok || end.Code != 0 || end.Stats == nil {
		t.Fatalf("end = %v, want code 0 with stats", end)
	}
	if end.Stats.BatchedFrames != 0 || end.Stats.Pushes != 1 || end.Stats.Responses != 1 || end.Stats.Kicks != 1 {
		t.Errorf("stats = %+v, want 0 batched frames, 1 push, 1 response, 1 kick", *end.Stats)
	}

	if len(conns) != 1 {
		t.Fatalf("fake saw %d connections, want 1", len(conns))
	}
	s := conns[0]
	if s.err != nil {
		t.Errorf("fake: %v", s.err)
	}
	if !s.acked || s.heartbeats < 1 {
		t.Errorf("fake: acked %v, %d client heartbeats; want an ack and >= 1", s.acked, s.heartbeats)
	}
	wantCompressed := opts.dict && v.compresses
	if len(s.requests) != 1 || s.requests[0].route != routeEnter || s.requests[0].compressed != wantCompressed ||
		hex.EncodeToString(s.requests[0].idBytes) != "01" {
		t.Errorf("fake requests = %+v, want one %s, id 01, compressed %v", s.requests, routeEnter, wantCompressed)
	}
	if len(s.notifies) != 1 || s.notifies[0].route != routeBye || s.notifies[0].compressed != wantCompressed {
		t.Errorf("fake notifies = %+v, want one %s, compressed %v", s.notifies, routeBye, wantCompressed)
	}
}

// TestCachedHandshake connects twice in one run: a client that kept dict or
// protos from the first handshake sends their versions, and the fake leaves
// them out of its second answer.
func TestCachedHandshake(t *testing.T) {
	t.Parallel()
	env := setupEnv(t)
	for _, v := range clientVariants() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, v.script, fakeOptions{dict: true, protos: true})
			steps := []Step{
				{Op: "init", Port: f.port},
				{Op: "request", Route: routeEnter, Msg: map[string]any{"n": 1}},
				{Op: "waitPush", Route: routeChat},
				{Op: "disconnect"},
				{Op: "waitDisconnect"},
				{Op: "init", Port: f.port},
				{Op: "request", Route: routeEnter, Msg: map[string]any{"n": 2}},
				{Op: "waitPush", Route: routeChat},
			}
			evs := run(t, env, v.script, Scenario{Client: v.client, Steps: steps})
			defer func() {
				if t.Failed() {
					t.Logf("events:\n%s", evs)
				}
			}()

			sent := evs.Of(KindHandshakeSent)
			answers := evs.Of(KindHandshake)
			pushes := evs.Of(KindPush)
			if len(sent) != 2 || len(answers) != 2 || len(pushes) != 2 {
				t.Fatalf("%d handshakes sent, %d answered, %d pushes; want 2 each", len(sent), len(answers), len(pushes))
			}
			var second struct {
				Sys map[string]any `json:"sys"`
			}
			if err := json.Unmarshal(sent[1].Body, &second); err != nil {
				t.Fatal(err)
			}
			gotPV, _ := second.Sys["protoVersion"].(string)
			gotDV, _ := second.Sys["dictVersion"].(string)
			wantPV, wantDV := "", ""
			if v.cachesProtos {
				wantPV = fakeProtoVersion
			}
			if v.cachesDict {
				wantDV = fakeDictVersion
			}
			if gotPV != wantPV || gotDV != wantDV {
				t.Errorf("second handshake sent %s; want protoVersion %q, dictVersion %q", sent[1].Body, wantPV, wantDV)
			}
			if a := answers[1].Sys; a.Protos == v.cachesProtos || a.Dict == v.cachesDict {
				t.Errorf("second answer sys = %+v; want protos %v, dict %v", *a, !v.cachesProtos, !v.cachesDict)
			}
			for i, p := range pushes {
				if !strings.Contains(string(p.Body), `"msg":"hello"`) || p.Conn != i+1 {
					t.Errorf("push %d = conn %d %s, want conn %d {msg hello ...} decoded", i, p.Conn, p.Body, i+1)
				}
			}
			end, _ := evs.End()
			if v.cachesProtos && !strings.Contains(end.Storage["protos"], fakeProtoVersion) {
				t.Errorf("localStorage at the end = %v, want protos kept", end.Storage)
			}
		})
	}
}

// TestMessageIDs sends 130 requests: every response must reach its
// callback, and the id bytes show each client's varint order. build.js's
// pomelo-protocol writes the high 7 bits first; npm pomelo-protocol (and
// DESIGN §6) the low 7 bits first. They differ from id 128 on.
func TestMessageIDs(t *testing.T) {
	t.Parallel()
	env := setupEnv(t)
	wantBytes := map[string]map[int]string{
		"build.js": {127: "7f", 128: "8100", 129: "8101", 130: "8102"},
		"tcp":      {127: "7f", 128: "8001", 129: "8101", 130: "8201"},
	}
	for _, v := range []variant{clientVariants()[0], clientVariants()[2]} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, v.script, fakeOptions{})
			steps := []Step{{Op: "init", Port: f.port}}
			for i := 1; i <= 130; i++ {
				steps = append(steps, Step{Op: "request", Route: routeEcho, Msg: map[string]int{"n": i}})
			}
			evs := run(t, env, v.script, Scenario{Client: v.client, Steps: steps})
			resps := evs.Of(KindResponse)
			if len(resps) != 130 {
				t.Fatalf("%d responses, want 130", len(resps))
			}
			for i, r := range resps {
				var b struct {
					Echo struct{ N int } `json:"echo"`
				}
				if err := json.Unmarshal(r.Body, &b); err != nil || b.Echo.N != i+1 || r.ID != i+1 {
					t.Errorf("response %d = id %d %s, want id %d echoing n %d", i, r.ID, r.Body, i+1, i+1)
				}
			}
			reqs := f.report()[0].requests
			for id, want := range wantBytes[v.name] {
				if got := hex.EncodeToString(reqs[id-1].idBytes); got != want {
					t.Errorf("request %d id bytes = %s, want %s", id, got, want)
				}
			}
		})
	}
}

// TestBatchedFrame: a frame with a response and a push in it. build.js
// decodes only the first package of a frame, so the push is lost; the
// harness must say so.
func TestBatchedFrame(t *testing.T) {
	t.Parallel()
	env := setupEnv(t)
	f := startFake(t, WSClient, fakeOptions{batch: true})
	evs := run(t, env, WSClient, Scenario{Steps: []Step{
		{Op: "init", Port: f.port},
		{Op: "request", Route: routeEnter},
		{Op: "waitPush", Route: routeChat, TimeoutMs: 300, MayFail: true},
	}})
	end, _ := evs.End()
	if end.Stats == nil || end.Stats.BatchedFrames != 1 || end.Stats.Pushes != 0 {
		t.Errorf("end = %v; want 1 batched frame, 0 pushes", end)
	}
	w, ok := evs.First(KindWarning, "")
	if !ok || !strings.Contains(w.Text, "2 packages") {
		t.Errorf("warning = %v, want one about a frame of 2 packages", w)
	}
	if _, ok := evs.First(KindError, ""); !ok {
		t.Error("the waitPush that may fail did not report its failure")
	}
}

// TestSignalAndNoHeartbeat drives a script step by step from Go, and shows
// noHeartbeat keeping the client's heartbeats off the wire.
func TestSignalAndNoHeartbeat(t *testing.T) {
	t.Parallel()
	env := setupEnv(t)
	for _, v := range []variant{clientVariants()[0], clientVariants()[2]} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, v.script, fakeOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := env.Start(ctx, v.script, Scenario{Client: v.client, Steps: []Step{
				{Op: "init", Port: f.port, NoHeartbeat: true},
				{Op: "waitSignal", Name: "go"},
				{Op: "request", Route: routeEcho, Msg: map[string]string{"after": "signal"}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Await(ctx, Match(KindInit, "")); err != nil {
				t.Fatal(err)
			}
			// Past the one-second interval: the client has tried to answer
			// the fake's heartbeat by now.
			if _, err := c.Await(ctx, Match(KindHeartbeatOut, "")); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.Events().First(KindResponse, ""); ok {
				t.Fatal("request ran before the signal")
			}
			if err := c.Signal("go"); err != nil {
				t.Fatal(err)
			}
			evs, err := c.Wait()
			if err != nil {
				t.Fatalf("%v\n%s", err, evs)
			}
			if _, ok := evs.First(KindResponse, routeEcho); !ok {
				t.Errorf("no response after the signal:\n%s", evs)
			}
			end, _ := evs.End()
			if end.Stats.HeartbeatsDropped < 1 || end.Stats.HeartbeatsOut != 0 {
				t.Errorf("stats = %+v, want >= 1 dropped heartbeat, 0 sent", *end.Stats)
			}
			if n := f.report()[0].heartbeats; n != 0 {
				t.Errorf("fake got %d heartbeats, want 0", n)
			}
		})
	}
}

// TestFailures: what a test sees when a scenario fails.
func TestFailures(t *testing.T) {
	t.Parallel()
	env := setupEnv(t)
	ctx := context.Background()
	if _, err := env.Run(ctx, "nope.js", Scenario{}); err == nil {
		t.Error("Run of an unknown script: no error")
	}
	// A port nobody listens on: the listener is closed before the run.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for _, script := range []string{WSClient, TCPClient} {
		evs, err := env.Run(ctx, script, Scenario{Steps: []Step{{Op: "init", Port: port}}})
		var se *ScenarioError
		if !errors.As(err, &se) || se.ExitCode != 1 || !strings.Contains(se.Failure, "closed before the handshake") {
			t.Errorf("%s init on a closed port: err = %v, want a ScenarioError, exit 1, closed before the handshake", script, err)
		}
		if end, ok := evs.End(); !ok || end.Code != 1 {
			t.Errorf("%s: end = %v, want code 1", script, end)
		}
	}
	_, err = env.Run(ctx, WSClient, Scenario{Steps: []Step{{Op: "fly"}}})
	var se *ScenarioError
	if !errors.As(err, &se) || !strings.Contains(se.Failure, `unknown op "fly"`) {
		t.Errorf("unknown op: err = %v", err)
	}
	// The global timeout ends a run on its own.
	start := time.Now()
	_, err = env.Run(ctx, TCPClient, Scenario{TimeoutMs: 300, Steps: []Step{{Op: "sleep", Ms: 5000}}})
	if !errors.As(err, &se) || !strings.Contains(se.Failure, "global timeout") || time.Since(start) > 3*time.Second {
		t.Errorf("global timeout: err = %v after %v", err, time.Since(start))
	}
	// ctx ending kills node.
	kctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = env.Run(kctx, TCPClient, Scenario{Steps: []Step{{Op: "sleep", Ms: 5000}}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx deadline: err = %v, want context.DeadlineExceeded", err)
	}
}

// TestGateThenConnector is chatofpomelo's login: ask the gate for a
// connector, disconnect, connect to the host and port it answered.
func TestGateThenConnector(t *testing.T) {
	t.Parallel()
	env := setupEnv(t)
	for _, v := range []variant{clientVariants()[0], clientVariants()[2]} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			connector := startFake(t, v.script, fakeOptions{dict: true, protos: true})
			gate := startFake(t, v.script, fakeOptions{entry: connector.port})
			evs := run(t, env, v.script, Scenario{Client: v.client, Steps: []Step{
				{Op: "init", Port: gate.port},
				{Op: "request", Route: routeEntry, Msg: map[string]string{"uid": "alice"}},
				{Op: "disconnect"},
				{Op: "init", UseLastResponse: true},
				{Op: "request", Route: routeEnter, Msg: map[string]string{"username": "alice", "rid": "r1"}},
				{Op: "waitPush", Route: routeChat},
			}})
			connects := evs.Of(KindConnect)
			if len(connects) != 2 || !strings.HasSuffix(connects[1].Text, fmt.Sprintf(":%d", connector.port)) {
				t.Errorf("connects = %v, want the second to the connector's port %d", connects, connector.port)
			}
			if g, c := gate.report(), connector.report(); len(g) != 1 || len(c) != 1 || len(c[0].requests) != 1 {
				t.Errorf("gate saw %d connections, connector %d; want 1 each, with the enter request on the connector", len(g), len(c))
			}
		})
	}
}

// TestSetupErrors: without node, Setup says so.
func TestSetupErrors(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Setup(context.Background())
	if !errors.Is(err, ErrNoNode) {
		t.Errorf("Setup without node in PATH: err = %v, want ErrNoNode", err)
	}
}
