package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseHandshake(t *testing.T) {
	type sys struct{ Type, Version, DictVersion, ProtoVersion, RSA string }
	tests := []struct {
		name string
		in   string
		sys  sys
		user string
	}{
		{"pomelo-jsclient-websocket", `{"sys":{"type":"js-websocket","version":"0.0.1","rsa":{}},"user":{}}`,
			sys{Type: "js-websocket", Version: "0.0.1", RSA: "map[]"}, `{}`},
		{"cached versions", `{"sys":{"type":"c","version":"1","dictVersion":"g7Kh+v4GFvT0WwsogaNTFA==","protoVersion":"PV1"}}`,
			sys{Type: "c", Version: "1", DictVersion: "g7Kh+v4GFvT0WwsogaNTFA==", ProtoVersion: "PV1", RSA: "<nil>"}, ``},
		{"Pitaya client keys ignored", `{"sys":{"platform":"mac","libVersion":"0.3.5-release","clientBuildNumber":"20","clientVersion":"2.1"},"user":{"age":30}}`,
			sys{RSA: "<nil>"}, `{"age":30}`},
		{"wrong types left empty", `{"sys":{"type":1,"version":null,"dictVersion":{},"protoVersion":["x"],"rsa":"k"}}`,
			sys{RSA: "k"}, ``},
		{"empty sys", ` { "sys" : { } , "user" : null } `, sys{RSA: "<nil>"}, `null`},
		{"keys are case-sensitive", `{"sys":{"Type":"x"}}`, sys{RSA: "<nil>"}, ``},
		{"escapes in strings", `{"sys":{"type":"a\"\u00e9"}}`, sys{Type: "a\"\u00e9", RSA: "<nil>"}, ``},
	}
	for _, tt := range tests {
		req, err := ParseHandshake([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: ParseHandshake(%s): %v", tt.name, tt.in, err)
			continue
		}
		got := sys{req.Sys.Type, req.Sys.Version, req.Sys.DictVersion, req.Sys.ProtoVersion, fmt.Sprint(req.Sys.RSA)}
		if got != tt.sys || string(req.User) != tt.user {
			t.Errorf("%s: ParseHandshake(%s) = %+v user %s, want %+v user %s", tt.name, tt.in, got, req.User, tt.sys, tt.user)
		}
	}
}

func TestParseHandshakeErrors(t *testing.T) {
	for _, in := range []string{
		``, `not json`, `{"sys":`, `null`, `[]`, `"sys"`, `1`, `{}`, `{"user":{}}`,
		`{"sys":null}`, `{"sys":1}`, `{"sys":"x"}`, `{"sys":[]}`, `{"sys":true}`, `{"SYS":{}}`,
		`{"sys":{}} trailing`,
	} {
		if req, err := ParseHandshake([]byte(in)); !errors.Is(err, ErrBadHandshake) {
			t.Errorf("ParseHandshake(%q) = %+v, %v; want ErrBadHandshake", in, req, err)
		}
	}
}

// protosJSON is the protos object of the Node reference below.
const protosJSON = `{"server":{"onChat":{"msg":{"option":"required","type":"string","tag":1}}},"client":{},"version":"PV1"}`

// The want literals were computed once with Node 20 by building opts and
// res exactly as Pomelo 2.2.7's handshake.js does, then JSON.stringify(res).
func TestAppendHandshakeResponseMatchesPomelo(t *testing.T) {
	d := chatDict(t)
	const dictJSON = `{"chat.chatHandler.echo":1,"chat.chatHandler.send":2,"connector.entryHandler.enter":3,"gate.gateHandler.queryEntry":4,"onDropItem":5,"onAttack":6,"onDied":7,"onMove":8,"onUpgrage":9,"onPickItem":10,"onRevive":11,"addEntities":12,"onRemoveEntities":13,"onPathCheckout":14}`
	const abbrsJSON = `{"1":"chat.chatHandler.echo","2":"chat.chatHandler.send","3":"connector.entryHandler.enter","4":"gate.gateHandler.queryEntry","5":"onDropItem","6":"onAttack","7":"onDied","8":"onMove","9":"onUpgrage","10":"onPickItem","11":"onRevive","12":"addEntities","13":"onRemoveEntities","14":"onPathCheckout"}`
	withVersions := func(dv, pv string) *HandshakeRequest {
		r := &HandshakeRequest{}
		r.Sys.DictVersion, r.Sys.ProtoVersion = dv, pv
		return r
	}
	tests := []struct {
		name string
		req  *HandshakeRequest
		opts *HandshakeOptions
		user json.RawMessage
		want string
	}{
		{"new client, everything", &HandshakeRequest{}, &HandshakeOptions{Heartbeat: 3, Dict: d, Protos: json.RawMessage(protosJSON), ProtoVersion: "PV1"}, json.RawMessage(`{"uid":7}`),
			`{"code":200,"sys":{"heartbeat":3,"dict":` + dictJSON + `,"routeToCode":` + dictJSON + `,"codeToRoute":` + abbrsJSON + `,"dictVersion":"g7Kh+v4GFvT0WwsogaNTFA==","useDict":true,"protos":{"server":{"onChat":{"msg":{"option":"required","type":"string","tag":1}}},"client":{},"version":"PV1"},"useProto":true},"user":{"uid":7}}`},
		{"client has both cached", withVersions("g7Kh+v4GFvT0WwsogaNTFA==", "PV1"), &HandshakeOptions{Heartbeat: 3, Dict: d, Protos: json.RawMessage(protosJSON), ProtoVersion: "PV1"}, nil,
			`{"code":200,"sys":{"heartbeat":3,"useDict":true,"useProto":true}}`},
		{"nothing configured", &HandshakeRequest{}, &HandshakeOptions{}, nil,
			`{"code":200,"sys":{}}`},
		{"stale dict, no protos", withVersions("stale", ""), &HandshakeOptions{Heartbeat: 10, Dict: d}, json.RawMessage(`{}`),
			`{"code":200,"sys":{"heartbeat":10,"dict":` + dictJSON + `,"routeToCode":` + dictJSON + `,"codeToRoute":` + abbrsJSON + `,"dictVersion":"g7Kh+v4GFvT0WwsogaNTFA==","useDict":true},"user":{}}`},
		{"nil req and opts", nil, nil, nil, `{"code":200,"sys":{}}`},
		{"stale protos only", withVersions("g7Kh+v4GFvT0WwsogaNTFA==", "old"), &HandshakeOptions{Dict: d, Protos: json.RawMessage(protosJSON), ProtoVersion: "PV1"}, json.RawMessage(`null`),
			`{"code":200,"sys":{"useDict":true,"protos":` + protosJSON + `,"useProto":true}}`},
	}
	for _, tt := range tests {
		got := AppendHandshakeResponse([]byte("pre"), tt.req, tt.opts, tt.user)
		if string(got) != "pre"+tt.want {
			t.Errorf("%s: AppendHandshakeResponse =\n%s\nwant\npre%s", tt.name, got, tt.want)
		}
		if !json.Valid(got[3:]) {
			t.Errorf("%s: AppendHandshakeResponse wrote invalid JSON: %s", tt.name, got[3:])
		}
	}
}

func TestAppendHandshakeResponseUser(t *testing.T) {
	for _, tt := range []struct {
		user string
		sent bool
	}{{"", false}, {"null", false}, {"false", false}, {"0", false}, {`""`, false},
		{"{}", true}, {"[]", true}, {"1", true}, {`"ok"`, true}, {"true", true}} {
		got := string(AppendHandshakeResponse(nil, nil, nil, json.RawMessage(tt.user)))
		if sent := strings.Contains(got, `"user"`); sent != tt.sent {
			t.Errorf("AppendHandshakeResponse with user %q = %s; user sent %v, want %v (Pomelo sends it when truthy)", tt.user, got, sent, tt.sent)
		}
	}
}

func TestAppendHandshakeResponseOneAlloc(t *testing.T) {
	skipAllocsUnderRace(t)
	d := chatDict(t)
	opts := &HandshakeOptions{Heartbeat: 3, Dict: d, Protos: json.RawMessage(protosJSON), ProtoVersion: "PV1"}
	req, user := &HandshakeRequest{}, json.RawMessage(`{"uid":7}`)
	if n := testing.AllocsPerRun(100, func() { AppendHandshakeResponse(nil, req, opts, user) }); n > 1 {
		t.Errorf("AppendHandshakeResponse into nil: %v allocations, want at most 1", n)
	}
}

func TestHandshakeErrorAndKick(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{string(HandshakeError(CodeBadHandshake)), `{"code":500}`},
		{string(HandshakeError(CodeOldClient)), `{"code":501}`},
		{string(KickBody("")), `{"reason":""}`},
		{string(KickBody("kicked by admin")), `{"reason":"kicked by admin"}`},
		// Node: JSON.stringify({reason: ...}) on the same string.
		{string(KickBody("kicked <by> \"admin\"\u000a\u2028\u0009\u0000\u001f\u007f")),
			"{\"reason\":\"kicked <by> \\\"admin\\\"\\n\u2028\\t\\u0000\\u001f\u007f\"}"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}
