package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Request is a client's request or notify as a handler sees it.
type Request struct {
	Route  string
	Notify bool            // a notify expects no response
	Body   json.RawMessage // JSON; a protobuf body is decoded to JSON first
}

// Decode unmarshals the body into v.
func (r *Request) Decode(v any) error {
	if len(r.Body) == 0 {
		return errors.New("the request has no body")
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %s body: %w", r.Route, err)
	}
	return nil
}

// HandlerFunc handles one route. Its result is the response body: a value to
// marshal to JSON (or to encode with the route's server proto), json.RawMessage or
// []byte as they are, or nil for {}. An error answers {"code": 500, "msg": ...},
// or the code and message of an *Error. A notify's result is dropped.
type HandlerFunc func(ctx context.Context, s *Session, r *Request) (any, error)

// AsyncHandlerFunc handles a request without holding up the client's next
// ones: it returns once it has started the work, and calls reply exactly once,
// from any goroutine, with what a HandlerFunc would return. reply does not
// block. r.Body is valid only until the handler returns.
type AsyncHandlerFunc func(ctx context.Context, s *Session, r *Request, reply func(any, error))

// Error is a handler failure with the code the client should see.
type Error struct {
	Code int
	Msg  string
	// Cause is what went wrong underneath, for errors.Is (a deadline that
	// passed); the client sees Code and Msg only.
	Cause error
}

// Unwrap is the cause.
func (e *Error) Unwrap() error { return e.Cause }

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Msg) }

// Coded is the code and message, for a server that forwards the error to
// the frontend that answers the client (rpc.Coded).
func (e *Error) Coded() (int, string) { return e.Code, e.Msg }

// errorBody is the response to a failed request.
func errorBody(err error) []byte {
	code, msg := 500, err.Error()
	var he *Error
	if errors.As(err, &he) {
		code, msg = he.Code, he.Msg
	}
	b, _ := json.Marshal(struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}{code, msg})
	return b
}
