// Package gate is Pomelo's gate: the frontend clients ask first, which answers
// with the connector a user should connect to.
package gate

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// Route is the gate's built-in route, as chatofpomelo's client calls it.
const Route = "gate.gateHandler.queryEntry"

// Entry is a connector as clients reach it.
type Entry struct {
	ID   string
	Host string // the connector's clientHost, else its host
	Port int    // its clientPort
}

// Handler answers queryEntry {uid} with {code: 200, host, port} of the connector
// crc32(uid) mod n picks among entries taken in order of their ids, as Pomelo's
// demo gate does; {code: 500} without a uid or without connectors. entries is
// called per request so that the list can follow live membership.
func Handler(entries func() []Entry) connector.HandlerFunc {
	return func(_ context.Context, _ *connector.Session, r *connector.Request) (any, error) {
		var req struct {
			UID any `json:"uid"`
		}
		_ = json.Unmarshal(r.Body, &req)
		uid := uidString(req.UID)
		list := slices.Clone(entries())
		if uid == "" || len(list) == 0 {
			return map[string]any{"code": 500}, nil
		}
		slices.SortFunc(list, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
		e := list[scripting.Crc32(uid)%len(list)]
		return map[string]any{"code": 200, "host": e.Host, "port": e.Port}, nil
	}
}

// uidString is the uid as the client wrote it: chatofpomelo sends a string, other
// clients a number.
func uidString(v any) string {
	switch u := v.(type) {
	case string:
		return u
	case float64:
		b, _ := json.Marshal(u)
		return string(b)
	}
	return ""
}
