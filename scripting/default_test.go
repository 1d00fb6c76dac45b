package scripting

import (
	"errors"
	"fmt"
	"testing"
)

func TestDefaultPick(t *testing.T) {
	servers := chatServers(3)
	for _, tc := range []struct {
		name    string
		session Session
		want    string
	}{
		{"uid", NewSession(7, "alice", "connector-1", nil), "chat-3"},            // 663665735 % 3 == 2
		{"uid wins over id", NewSession(1, "bob", "connector-1", nil), "chat-3"}, // 4123767104 % 3 == 2
		{"no uid: session id", NewSession(7, "", "connector-1", nil), "chat-1"},  // crc32("7") = 1790921346, % 3 == 0
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultPick(RouterEnv{Session: tc.session, Servers: servers})
			if err != nil || got.ID != tc.want {
				t.Errorf("DefaultPick(id %d, uid %q) = %q, %v; want %q", tc.session.ID, tc.session.UID, got.ID, err, tc.want)
			}
		})
	}
}

func TestDefaultPickIsStable(t *testing.T) {
	servers := chatServers(3)
	for id := range int64(50) {
		env := RouterEnv{Session: NewSession(id, "", "connector-1", nil), Servers: servers}
		first, _ := DefaultPick(env)
		for range 3 {
			if again, _ := DefaultPick(env); again.ID != first.ID {
				t.Fatalf("DefaultPick(session %d) = %q, then %q", id, first.ID, again.ID)
			}
		}
	}
}

func TestDefaultPickSpreads(t *testing.T) {
	servers := chatServers(3)
	for _, tc := range []struct {
		name    string
		session func(i int) Session
	}{
		{"uids", func(i int) Session { return NewSession(1, fmt.Sprintf("user-%d", i), "connector-1", nil) }},
		{"session ids", func(i int) Session { return NewSession(int64(i), "", "connector-1", nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			count := map[string]int{}
			const n = 300
			for i := range n {
				s, err := DefaultPick(RouterEnv{Session: tc.session(i), Servers: servers})
				if err != nil {
					t.Fatalf("DefaultPick: %v", err)
				}
				count[s.ID]++
			}
			// Each server should get a fair share; a third of its share is a loose floor.
			for _, s := range servers {
				if count[s.ID] < n/len(servers)/3 {
					t.Errorf("%d different %s went %v; want each server to get some", n, tc.name, count)
					break
				}
			}
		})
	}
}

func TestDefaultPickNoServers(t *testing.T) {
	_, err := DefaultPick(RouterEnv{Session: NewSession(1, "alice", "", nil)})
	if !errors.Is(err, ErrNoServers) {
		t.Errorf("DefaultPick with no servers = %v, want ErrNoServers", err)
	}
}

// A compiled router says whether it reads msg, so that a frontend decodes
// a request's message only for a router that looks at it.
func TestRouterReadsMsg(t *testing.T) {
	for src, want := range map[string]bool{
		`servers[crc32(session.get("rid")) % len(servers)]`: false,
		`servers[crc32(session.uid) % len(servers)]`:        false,
		`msg.server`: true,
		`servers[crc32(string(msg.rid ?? session.uid)) % len(servers)]`: true,
		`filter(servers, {.id == msg.server})[0]`:                       true,
		`session.settings.msg`:                                          false,
	} {
		r, err := CompileRouter(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if r.ReadsMsg() != want {
			t.Errorf("%s: ReadsMsg %v; want %v", src, r.ReadsMsg(), want)
		}
	}
}
