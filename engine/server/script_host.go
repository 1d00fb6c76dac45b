package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// exprHost is a server's Services as its expressions reach them.
type exprHost struct{ sv *Services }

func (h exprHost) Call(ctx context.Context, id, route string, by scripting.Session, args any) (any, error) {
	if id == "" {
		to, err := h.sv.pick(route, by, nil)
		if err != nil {
			return nil, err
		}
		id = to.ID
	}
	var out any
	if err := h.sv.CallServer(ctx, id, route, args, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (h exprHost) Push(ctx context.Context, route string, msg any, targets []scripting.Target) error {
	return h.sv.PushToUIDs(ctx, route, msg, targets)
}

func (h exprHost) Channels() scripting.Channels { return exprChannels{h.sv.chans} }

func (h exprHost) GlobalChannels() scripting.GlobalChannels {
	if h.sv.gchans == nil {
		return nil // an interface holding a nil pointer would not be nil
	}
	return exprGlobalChannels{h.sv.gchans}
}

// exprGlobalChannels are the cluster's global channels as expressions use
// them: push to every member, or to those of uids.
type exprGlobalChannels struct{ *GlobalChannels }

func (g exprGlobalChannels) Push(ctx context.Context, name, route string, msg any, uids []string) error {
	if uids == nil {
		return g.GlobalChannels.Push(ctx, name, route, msg)
	}
	return g.PushTo(ctx, name, route, msg, uids)
}

// exprChannels are a server's channels as expressions use them: by name,
// a channel that does not exist being one without members.
type exprChannels struct{ cs *Channels }

func (c exprChannels) Add(name, uid, frontend string) bool {
	return c.cs.Get(name, true).Add(uid, frontend)
}

func (c exprChannels) Leave(name, uid string) {
	if ch := c.cs.Get(name, false); ch != nil {
		ch.Leave(uid)
	}
}

func (c exprChannels) Members(name string) []string {
	if ch := c.cs.Get(name, false); ch != nil {
		return ch.Members()
	}
	return []string{}
}

func (c exprChannels) Member(name, uid string) (string, bool) {
	if ch := c.cs.Get(name, false); ch != nil {
		return ch.Member(uid)
	}
	return "", false
}

func (c exprChannels) Push(ctx context.Context, name, route string, msg any, uids []string) error {
	ch := c.cs.Get(name, false)
	if ch == nil {
		if uids != nil {
			return fmt.Errorf("channel.push: there is no channel %q on %s", name, c.cs.sv.id)
		}
		return nil
	}
	if uids == nil {
		return ch.Push(ctx, route, msg)
	}
	targets := make([]Target, 0, len(uids))
	var missing []string
	for _, uid := range uids {
		if fe, ok := ch.Member(uid); ok {
			targets = append(targets, Target{UID: uid, Frontend: fe})
		} else {
			missing = append(missing, uid)
		}
	}
	err := c.cs.sv.PushToUIDs(ctx, route, msg, targets)
	if len(missing) > 0 {
		err = errors.Join(err, fmt.Errorf("channel.push: %s not in channel %q", strings.Join(missing, ", "), name))
	}
	return err
}

func (c exprChannels) Destroy(name string) { c.cs.Destroy(name) }

// frontendSessionHost acts on a frontend's own session.
type frontendSessionHost struct {
	s        *connector.Session
	sessions *connector.Sessions
}

func (f frontendSessionHost) Bind(_ context.Context, uid string) error { return f.s.Bind(uid) }
func (f frontendSessionHost) Unbind(context.Context) error             { f.s.Unbind(); return nil }
func (f frontendSessionHost) Kick(_ context.Context, reason string) error {
	return f.s.Kick(reason)
}
func (f frontendSessionHost) Set(_ context.Context, key string, value any) error {
	f.s.Set(key, value)
	return nil
}
func (f frontendSessionHost) Bound(uid string) (bool, error) {
	return len(f.sessions.ByUID(uid)) > 0, nil
}

// backendSessionHost acts on a session through the frontend that holds it.
type backendSessionHost struct{ s *BackendSession }

func (b backendSessionHost) Bind(ctx context.Context, uid string) error { return b.s.Bind(ctx, uid) }
func (b backendSessionHost) Unbind(ctx context.Context) error           { return b.s.Unbind(ctx) }
func (b backendSessionHost) Kick(ctx context.Context, reason string) error {
	return b.s.Kick(ctx, reason)
}

// Set writes the setting back to the frontend at once: an expression has
// no later point at which to do it.
func (b backendSessionHost) Set(ctx context.Context, key string, value any) error {
	b.s.Set(key, value)
	return b.s.Push(ctx, key)
}

func (b backendSessionHost) Bound(string) (bool, error) {
	return false, errors.New("session.bound looks at a frontend's own sessions: call it in a handler of a frontend type")
}
