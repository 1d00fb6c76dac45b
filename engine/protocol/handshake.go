package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/pomeloctl/pomeloctl/internal/jsjson"
)

// Handshake answer codes, as Pomelo's handshake.js sends them.
const (
	CodeOK           = 200
	CodeBadHandshake = 500
	CodeOldClient    = 501
)

// ErrBadHandshake reports a handshake body that is not a JSON object with a
// "sys" object; Pomelo answers such a client with CodeBadHandshake.
var ErrBadHandshake = errors.New("protocol: bad handshake")

// HandshakeRequest is what a client sends in its Handshake packet.
// Pomelo's clients send sys.type and sys.version; Pitaya's send other keys
// (platform, libVersion, ...), which are ignored here but stay available to
// a caller that re-parses the body.
type HandshakeRequest struct {
	Sys struct {
		Type, Version             string
		DictVersion, ProtoVersion string
		RSA                       any
	}
	User json.RawMessage
}

// ParseHandshake decodes a handshake body tolerantly: missing fields are
// empty, unknown keys are ignored, and a field of the wrong JSON type (a
// number where a string is expected) is left empty rather than failing,
// because clients in the wild differ. Keys match case-sensitively, as
// JavaScript's do. The body must be a JSON object whose "sys" is an object,
// else the error wraps ErrBadHandshake.
func ParseHandshake(body []byte) (*HandshakeRequest, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("%w: the body is not a JSON object: %w", ErrBadHandshake, err)
	}
	rawSys, ok := top["sys"]
	if !ok {
		return nil, fmt.Errorf("%w: no \"sys\" object", ErrBadHandshake)
	}
	var sys map[string]json.RawMessage
	if len(rawSys) == 0 || rawSys[0] != '{' || json.Unmarshal(rawSys, &sys) != nil {
		return nil, fmt.Errorf("%w: \"sys\" is %.40s, not an object", ErrBadHandshake, rawSys)
	}
	req := &HandshakeRequest{User: top["user"]}
	req.Sys.Type = jsonString(sys["type"])
	req.Sys.Version = jsonString(sys["version"])
	req.Sys.DictVersion = jsonString(sys["dictVersion"])
	req.Sys.ProtoVersion = jsonString(sys["protoVersion"])
	if raw, ok := sys["rsa"]; ok {
		// Already validated by the outer Unmarshal, so this cannot fail.
		_ = json.Unmarshal(raw, &req.Sys.RSA)
	}
	return req, nil
}

// jsonString is raw's value when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// HandshakeOptions is what the server says in sys.
type HandshakeOptions struct {
	Heartbeat    int             // seconds; 0 = omit "heartbeat"
	Dict         *Dictionary     // nil = no useDict
	Protos       json.RawMessage // the exact {"server":..,"client":..,"version":..} JSON; nil or empty = no useProto
	ProtoVersion string
}

// AppendHandshakeResponse appends the JSON answer Pomelo's handshake.js
// sends, byte for byte as its JSON.stringify writes it:
//
//	{"code":200,"sys":{"heartbeat":3,"dict":{..},"routeToCode":{..},"codeToRoute":{..},"dictVersion":"..","useDict":true,"protos":{..},"useProto":true},"user":{..}}
//
// dict, routeToCode, codeToRoute and dictVersion are sent only when the
// client's dictVersion is missing or differs from ours; protos only when its
// protoVersion is missing or differs; useDict and useProto whenever enabled.
// "user" is left out when user is empty or a JavaScript-falsy value (null,
// false, 0, ""), as Pomelo's `if (resp)` does. opts.Protos and user are
// written verbatim: they must be compact, valid JSON. req or opts may be nil.
func AppendHandshakeResponse(dst []byte, req *HandshakeRequest, opts *HandshakeOptions, user json.RawMessage) []byte {
	var dictVersion, protoVersion string
	if req != nil {
		dictVersion, protoVersion = req.Sys.DictVersion, req.Sys.ProtoVersion
	}
	if opts == nil {
		opts = &HandshakeOptions{}
	}
	d := opts.Dict
	sendDict := d != nil && (dictVersion == "" || dictVersion != d.version)
	sendProtos := len(opts.Protos) > 0 && (protoVersion == "" || protoVersion != opts.ProtoVersion)

	size := 96 + len(user)
	if sendDict {
		size += 2*len(d.r2c) + len(d.c2r) + len(d.version)
	}
	if sendProtos {
		size += len(opts.Protos)
	}
	// One growth up front: the answer is built with at most one allocation.
	dst = slices.Grow(dst, size)

	dst = append(dst, `{"code":200,"sys":{`...)
	sep := false
	key := func(k string) {
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = append(dst, k...)
	}
	if opts.Heartbeat != 0 {
		key(`"heartbeat":`)
		dst = strconv.AppendInt(dst, int64(opts.Heartbeat), 10)
	}
	if d != nil {
		if sendDict {
			key(`"dict":`)
			dst = append(dst, d.r2c...)
			key(`"routeToCode":`)
			dst = append(dst, d.r2c...)
			key(`"codeToRoute":`)
			dst = append(dst, d.c2r...)
			key(`"dictVersion":`)
			dst = jsjson.AppendString(dst, d.version)
		}
		key(`"useDict":true`)
	}
	if len(opts.Protos) > 0 {
		if sendProtos {
			key(`"protos":`)
			dst = append(dst, opts.Protos...)
		}
		key(`"useProto":true`)
	}
	dst = append(dst, '}')
	if !jsFalsy(user) {
		dst = append(dst, `,"user":`...)
		dst = append(dst, user...)
	}
	return append(dst, '}')
}

// HandshakeError is the answer that refuses a handshake, e.g. {"code":500}.
func HandshakeError(code int) []byte {
	b := append(make([]byte, 0, 16), `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	return append(b, '}')
}

// KickBody is the body of a Kick packet: {"reason":"..."}, escaped as
// JSON.stringify escapes it.
func KickBody(reason string) []byte {
	b := append(make([]byte, 0, len(`{"reason":""}`)+len(reason)), `{"reason":`...)
	b = jsjson.AppendString(b, reason)
	return append(b, '}')
}
