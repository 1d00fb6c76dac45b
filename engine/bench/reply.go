package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// ReplyError is the failure a reply reports in its body, or nil: a figure
// counts a reply that says it failed as a failed request, as it counts a
// transport error. A reply fails when it is a JSON object with
//
//   - a numeric "code" other than 200 or 0 (Pomelo's own errors answer
//     {"code": 500, ...}; games answer 200, or 0, for success),
//   - a string "code" (Pitaya's errors: {"code": "PIT-500", ...}), or
//   - "error": true (chatofpomelo's {"code": 500, "error": true}).
//
// Anything else — another shape, a body that is not JSON (protobuf) — is a
// success: only the server knows what its own bodies mean.
func ReplyError(body []byte) error {
	// Most replies name neither key, or start with a success code (Go's
	// encoding/json writes "code" first of code, msg, server): no decoding
	// on the hot path, which the load generator shares the cores for.
	hasError := bytes.Contains(body, []byte(`"error"`))
	if !hasError && (!bytes.Contains(body, []byte(`"code"`)) || hasPrefixAny(body, successPrefixes)) {
		return nil
	}
	var r struct {
		Code  json.RawMessage `json:"code"`
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nil
	}
	failed := string(r.Error) == "true"
	switch code := string(r.Code); {
	case code == "", code == "null", code == "200", code == "0":
	case code[0] == '"':
		failed = true
	default:
		var n float64
		failed = failed || json.Unmarshal(r.Code, &n) == nil
	}
	if !failed {
		return nil
	}
	return &ErrorReply{Body: string(truncate(body, 300))}
}

// request sends a request and turns a reply that says it failed into an
// error, so that every mode counts it as one.
func request(ctx context.Context, c *client.Client, route string, body []byte) ([]byte, error) {
	resp, err := c.Request(ctx, route, body)
	if err != nil {
		return nil, err
	}
	return resp, ReplyError(resp)
}

var successPrefixes = [][]byte{[]byte(`{"code":200,`), []byte(`{"code":200}`), []byte(`{"code":0,`), []byte(`{"code":0}`)}

func hasPrefixAny(b []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}

// ErrorReply is a reply whose body says the request failed.
type ErrorReply struct{ Body string }

func (e *ErrorReply) Error() string { return fmt.Sprintf("the server answered %s", e.Body) }

func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return append(b[:n:n], "…"...)
}
