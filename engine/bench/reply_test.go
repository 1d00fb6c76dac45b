package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
)

func TestReplyError(t *testing.T) {
	for _, tc := range []struct {
		body   string
		failed bool
	}{
		{`{}`, false},
		{`{"code":200,"msg":{"msg":"x"},"server":"chat-server-1"}`, false},
		{`{"code":200,"msg":{"code":500},"server":"chat-server-1"}`, false},
		{`{"msg":"x","code":200}`, false},
		{`{"code":200,"error":true}`, true},
		{`{"code":2000}`, true},
		{`{"code":0,"users":["a"]}`, false},
		{`{"users":["a","b"]}`, false},
		{`{"msg":{"code":500}}`, false}, // a code inside the payload is the game's business
		{`{"code":null}`, false},
		{`{"error":false}`, false},
		{"\x0a\x03abc", false}, // protobuf
		{`not json "code"`, false},
		{`{"code":500,"msg":"no server of type chat is running"}`, true},
		{`{"code":404,"msg":"no handler"}`, true},
		{`{"code":1001}`, true},
		{`{"code":"PIT-500","msg":"internal"}`, true},
		{`{"code":500,"error":true}`, true},
		{`{"error":true}`, true},
	} {
		err := ReplyError([]byte(tc.body))
		if (err != nil) != tc.failed {
			t.Errorf("ReplyError(%s) = %v; want failed %v", tc.body, err, tc.failed)
		}
		var er *ErrorReply
		if err != nil && (!errors.As(err, &er) || er.Body != tc.body) {
			t.Errorf("ReplyError(%s) = %#v; want an *ErrorReply with the body", tc.body, err)
		}
	}
}

// An echo run counts every reply that carries an error code as a failed
// request, and says what the first one was.
func TestEchoCountsErrorReplies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := connector.New(connector.Config{ServerID: "c1", ServerType: "connector", Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.Handle("entryHandler.refuse", func(context.Context, *connector.Session, *connector.Request) (any, error) {
		return nil, &connector.Error{Code: 500, Msg: "no server of type chat is running"}
	})
	s.Handle("entryHandler.echo", func(_ context.Context, _ *connector.Session, r *connector.Request) (any, error) {
		return r.Body, nil
	})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	cfg := EchoConfig{Addr: s.Addr().String(), Clients: 2, InFlight: 2, Duration: 300 * time.Millisecond}
	cfg.Route = "connector.entryHandler.refuse"
	res, err := Echo(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors == 0 || res.PerSecond != 0 {
		t.Errorf("every reply was code 500: got %d requests done, %d errors, %.0f/s; want 0 done, every one an error", res.Requests, res.Errors, res.PerSecond)
	}
	if !strings.Contains(res.FirstErr, "no server of type chat is running") {
		t.Errorf("first error %q; want the reply's words", res.FirstErr)
	}

	cfg.Route = "connector.entryHandler.echo"
	if res, err = Echo(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 || res.FirstErr != "" {
		t.Errorf("an echo that succeeds: %d done, %d errors (%q); want some done and none failed", res.Requests, res.Errors, res.FirstErr)
	}
}

// The load generator checks every reply: a success must cost next to nothing.
func BenchmarkReplyError(b *testing.B) {
	ok := []byte(`{"code":200,"msg":{"msg":"xxxxxxxxxxxxxxxx"},"server":"chat-server-1"}`)
	for b.Loop() {
		if ReplyError(ok) != nil {
			b.Fatal("a success taken for a failure")
		}
	}
}
