package connector

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

func TestHandshakeHooks(t *testing.T) {
	s, _ := start(t, Config{
		CheckClient: func(typ, version string) bool { return version != "0.0.1" },
		Handshake: func(_ context.Context, sess *Session, user json.RawMessage) (json.RawMessage, error) {
			var u struct{ Token string }
			_ = json.Unmarshal(user, &u)
			if u.Token != "let-me-in" {
				return nil, errors.New("bad token")
			}
			sess.Set("token", u.Token)
			return json.RawMessage(`{"welcome":true}`), nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name    string
		opts    client.Options
		wantErr string
	}{
		{"old client", client.Options{Type: "js", Version: "0.0.1", User: json.RawMessage(`{"token":"let-me-in"}`)}, "code 501"},
		{"user handshake refuses", client.Options{Type: "js", Version: "1.0.0", User: json.RawMessage(`{"token":"nope"}`)}, "code 500"},
		{"accepted", client.Options{Type: "js", Version: "1.0.0", User: json.RawMessage(`{"token":"let-me-in"}`)}, ""},
	} {
		c, err := client.Dial(ctx, s.Addr().String(), tc.opts)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.wantErr)
		}
		if c != nil {
			c.Close()
		}
	}
}

func TestSessionSettingsAndCloseEvents(t *testing.T) {
	s, _ := start(t, Config{})
	var mu sync.Mutex
	var closed []string
	s.OnClose(func(sess *Session) {
		mu.Lock()
		defer mu.Unlock()
		closed = append(closed, sess.UID()+" rid="+sess.Get("rid").(string))
	})
	s.Handle("entryHandler.settings", func(_ context.Context, sess *Session, r *Request) (any, error) {
		var req struct{ UID, Rid string }
		if err := r.Decode(&req); err != nil {
			return nil, err
		}
		if err := sess.Bind(req.UID); err != nil {
			return nil, err
		}
		sess.Set("rid", req.Rid)
		if err := sess.Bind("someone-else"); err == nil {
			return nil, errors.New("a bound session took a second uid")
		}
		return map[string]any{"settings": sess.Settings(), "frontend": sess.FrontendID()}, nil
	})
	c := dial(t, s, client.Options{})
	got := request(t, c, "connector.entryHandler.settings", `{"uid":"bob","rid":"room1"}`)
	if got != `{"frontend":"connector-server-1","settings":{"rid":"room1"}}` {
		t.Errorf("settings: got %s", got)
	}
	if len(s.Sessions().ByUID("bob")) != 1 {
		t.Errorf("bob's session is not found by uid")
	}
	c.Close()
	eventually(t, "the close event runs with the session's uid and settings", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(closed) == 1 && closed[0] == "bob rid=room1"
	})
	if len(s.Sessions().ByUID("bob")) != 0 || s.Sessions().Len() != 0 {
		t.Errorf("a closed session is still registered")
	}
}
