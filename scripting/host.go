package scripting

import (
	"context"
	"fmt"
	"log/slog"
)

// Host is what expressions reach the cluster through: calls to other
// servers, pushes to users and this server's channels. The engine
// implements it; tests may fake it.
type Host interface {
	// Call calls the remote route on server id or, when id is "", on the
	// server of the route's type that its router picks for by, and gives
	// the answer decoded from JSON.
	Call(ctx context.Context, id, route string, by Session, args any) (any, error)
	// Push pushes msg on route to each target's clients: one message per
	// frontend, whatever the number of users on it.
	Push(ctx context.Context, route string, msg any, targets []Target) error
	// Channels are this server's channels.
	Channels() Channels
	// GlobalChannels are the cluster's channels in Redis; nil when the
	// topology declares none.
	GlobalChannels() GlobalChannels
}

// GlobalChannels are the cluster's channels in Redis (topology
// globalChannel): members connected to any frontend, pushed to from any
// server.
type GlobalChannels interface {
	Add(ctx context.Context, name, uid, frontend string) error
	Leave(ctx context.Context, name, uid, frontend string) error
	// Members are the channel's uids by the frontend they are connected to.
	Members(ctx context.Context, name string) (map[string][]string, error)
	// Push pushes msg on route to the members (only those of uids, when
	// uids is not nil).
	Push(ctx context.Context, name, route string, msg any, uids []string) error
	Destroy(ctx context.Context, name string) error
}

// Channels are a server's named groups of users (Pomelo's ChannelService).
type Channels interface {
	// Add adds uid, connected to frontend, to channel name, making the
	// channel if needed; false if uid was a member already.
	Add(name, uid, frontend string) bool
	Leave(name, uid string)
	// Members are the channel's uids, sorted; none for no channel.
	Members(name string) []string
	// Member is the frontend uid is connected to, if it is a member.
	Member(name, uid string) (string, bool)
	// Push pushes msg on route to the members (only those of uids, when
	// uids is not nil); a channel that does not exist has no one to push to.
	Push(ctx context.Context, name, route string, msg any, uids []string) error
	Destroy(name string)
}

// SessionHost acts on the session a request arrived on: on a frontend
// the real one, on a backend through the frontend that holds it.
type SessionHost interface {
	Bind(ctx context.Context, uid string) error
	Unbind(ctx context.Context) error
	// Set stores a setting and, on a backend, writes it back to the
	// frontend's session at once.
	Set(ctx context.Context, key string, value any) error
	Kick(ctx context.Context, reason string) error
	// Bound reports whether a session of this frontend is bound to uid;
	// an error where that cannot be known (a backend).
	Bound(uid string) (bool, error)
}

// Target is a user and the frontend that holds its connection. Pomelo
// calls the frontend's id sid in its push targets.
type Target struct {
	UID      string `json:"uid"`
	Frontend string `json:"sid"`
}

// Call is one run of an expression: the context its side effects run
// under and what they act on. It is the env's ctx, which expr passes to
// every function that takes a context.Context (expr.WithContext), so that
// a run costs no closure per function.
type Call struct {
	context.Context
	Host Host
	// Session acts on the request's session, and Live is the env's view
	// of it; both nil where there is none.
	Session SessionHost
	Live    *LiveSession
	// By is the session rpc routes for where there is no live one: the
	// one a session hook runs for; the zero Session elsewhere.
	By Session
	// Log is where log() writes, with the expression's place.
	Log *slog.Logger

	steps int // loop steps taken (see maxSteps)
}

// Failure is a refusal an expression gives with error(code, message): the
// client is answered with its code and message, and nothing is logged.
type Failure struct {
	Code int
	Msg  string
}

func (f *Failure) Error() string { return fmt.Sprintf("%d: %s", f.Code, f.Msg) }

// call is the *Call expr passes as a function's first argument.
func call(ctx any) (*Call, error) {
	c, ok := ctx.(*Call)
	if !ok || c == nil || c.Host == nil {
		return nil, fmt.Errorf("this expression cannot reach the cluster here")
	}
	return c, nil
}
