package scripting

import (
	"context"
	"errors"
	"fmt"
)

// The environments below are what each kind of expression sees besides
// the functions every one may call (functions, contextFunctions). Each has
// Ctx, the run's *Call, under the name ctx: expr hands it to the functions
// that act, so an expression never writes it.

// HandlerEnv is what a handler sees: a client's request and its session.
// The handler's value is the response.
type HandlerEnv struct {
	Ctx *Call `expr:"ctx"`
	// Msg is the request body, decoded: a map, or nil. An expression that
	// only hands it on whole may be given it as the client's JSON, a
	// json.RawMessage (see Program.PassesMsg).
	Msg           any                `expr:"msg"`
	Route         string             `expr:"route"`
	Session       *LiveSession       `expr:"session"`
	Server        Server             `expr:"server"` // the server running it
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
}

// RemoteEnv is what a remote sees: the arguments another server called it
// with. The remote's value is the answer.
type RemoteEnv struct {
	Ctx           *Call              `expr:"ctx"`
	Args          any                `expr:"args"`
	Route         string             `expr:"route"`
	Server        Server             `expr:"server"`
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
}

// FilterEnv is what a before filter sees: a request about to be handled.
// The filter lets it through when its value is true.
type FilterEnv struct {
	Ctx           *Call              `expr:"ctx"`
	Msg           map[string]any     `expr:"msg"`
	Route         string             `expr:"route"`
	Session       *LiveSession       `expr:"session"`
	Server        Server             `expr:"server"`
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
}

// AfterEnv is what an after filter sees: a request once it was answered.
// Its value is not used.
type AfterEnv struct {
	Ctx           *Call              `expr:"ctx"`
	Msg           map[string]any     `expr:"msg"`
	Route         string             `expr:"route"`
	Session       *LiveSession       `expr:"session"`
	Server        Server             `expr:"server"`
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
	Reply         any                `expr:"reply"` // the response body; nil when it failed
	Err           *ErrInfo           `expr:"err"`   // why it failed; nil when it did not
	Ms            float64            `expr:"ms"`    // how long it took, in milliseconds
}

// ErrorEnv is what an error handler sees: a request that failed. Its value
// is the response the client gets instead of {code, msg}; nil keeps that.
type ErrorEnv struct {
	Ctx           *Call              `expr:"ctx"`
	Msg           map[string]any     `expr:"msg"`
	Route         string             `expr:"route"`
	Session       *LiveSession       `expr:"session"`
	Server        Server             `expr:"server"`
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
	Err           *ErrInfo           `expr:"err"`
}

// ErrInfo is a failed request's error as the client would get it.
type ErrInfo struct {
	Code int    `expr:"code"`
	Msg  string `expr:"message"`
}

// HookEnv is what a lifecycle hook sees (afterStart, afterStartAll,
// beforeStop): the server it runs on.
type HookEnv struct {
	Ctx           *Call              `expr:"ctx"`
	Server        Server             `expr:"server"`
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
}

// SessionHookEnv is what onSessionBind and onSessionClose see: the
// session, as it is (bound) or was (closed).
type SessionHookEnv struct {
	Ctx           *Call              `expr:"ctx"`
	Server        Server             `expr:"server"`
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
	Session       Session            `expr:"session"`
}

// PeerHookEnv is what onServerAdded and onServerRemoved see: the server
// that joined or left the cluster.
type PeerHookEnv struct {
	Ctx           *Call              `expr:"ctx"`
	Server        Server             `expr:"server"`
	Channel       ChannelFuncs       `expr:"channel"`
	GlobalChannel GlobalChannelFuncs `expr:"globalChannel"`
	Peer          Server             `expr:"peer"`
}

// LiveSession is the session a request arrived on, which a handler or a
// filter may act on. Its functions are the same for every run: they find
// the session in the run's ctx.
type LiveSession struct {
	ID         int64                `expr:"id"`
	UID        string               `expr:"uid"`
	FrontendID string               `expr:"frontendId"`
	Settings   map[string]any       `expr:"settings"`
	Get        func(key ...any) any `expr:"get"`

	Set    func(ctx context.Context, key string, value any) (any, error) `expr:"set"`
	Bind   func(ctx context.Context, uid string) (any, error)            `expr:"bind"`
	Unbind func(ctx context.Context) (any, error)                        `expr:"unbind"`
	Kick   func(ctx context.Context, reason ...string) (any, error)      `expr:"kick"`
	Bound  func(ctx context.Context, uid string) (bool, error)           `expr:"bound"`
}

// Info is the session as a router sees it.
func (l *LiveSession) Info() Session {
	return Session{ID: l.ID, UID: l.UID, FrontendID: l.FrontendID, Settings: l.Settings, Get: l.Get}
}

// NewLiveSession is s with the functions that act on the session of a run.
func NewLiveSession(s Session) LiveSession {
	if s.Get == nil {
		s.Get = getter(s.Settings)
	}
	return LiveSession{ID: s.ID, UID: s.UID, FrontendID: s.FrontendID, Settings: s.Settings, Get: s.Get,
		Set: sessionSet, Bind: sessionBind, Unbind: sessionUnbind, Kick: sessionKick, Bound: sessionBound}
}

// ChannelFuncs are a server's channels, as expressions call them:
// channel.add("lobby", uid, sid).
type ChannelFuncs struct {
	Add     func(ctx context.Context, name, uid, frontend string) (bool, error)              `expr:"add"`
	Leave   func(ctx context.Context, name, uid string) (any, error)                         `expr:"leave"`
	Members func(ctx context.Context, name string) ([]string, error)                         `expr:"members"`
	Member  func(ctx context.Context, name, uid string) (any, error)                         `expr:"member"`
	Push    func(ctx context.Context, name, route string, msg any, uids ...any) (any, error) `expr:"push"`
	Destroy func(ctx context.Context, name string) (any, error)                              `expr:"destroy"`
}

// GlobalChannelFuncs are the cluster's channels in Redis, as expressions
// call them: globalChannel.add("world", session.uid, session.frontendId).
type GlobalChannelFuncs struct {
	Add     func(ctx context.Context, name, uid, frontend string) (any, error)               `expr:"add"`
	Leave   func(ctx context.Context, name, uid, frontend string) (any, error)               `expr:"leave"`
	Members func(ctx context.Context, name string) (map[string]any, error)                   `expr:"members"`
	Push    func(ctx context.Context, name, route string, msg any, uids ...any) (any, error) `expr:"push"`
	Destroy func(ctx context.Context, name string) (any, error)                              `expr:"destroy"`
}

var globalChannelFuncs = GlobalChannelFuncs{Add: globalAdd, Leave: globalLeave, Members: globalMembers, Push: globalPush, Destroy: globalDestroy}

// GlobalChannelFunctions are the functions on the cluster's global
// channels, for an env's GlobalChannel.
func GlobalChannelFunctions() GlobalChannelFuncs { return globalChannelFuncs }

// channelFuncs are the same for every run.
var channelFuncs = ChannelFuncs{Add: channelAdd, Leave: channelLeave, Members: channelMembers, Member: channelMember, Push: channelPush, Destroy: channelDestroy}

// ChannelFunctions are the functions on a server's channels, for an env's
// Channel.
func ChannelFunctions() ChannelFuncs { return channelFuncs }

func liveSession(ctx context.Context) (*Call, error) {
	c, err := call(ctx)
	if err != nil {
		return nil, err
	}
	if c.Session == nil {
		return nil, errors.New("there is no live session here")
	}
	return c, nil
}

// The functions that change the session change the run's view of it too:
// what the expression reads next, and whom rpc routes for, is the session
// as it now is.

func sessionSet(ctx context.Context, key string, value any) (any, error) {
	c, err := liveSession(ctx)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, errors.New("session.set: the key is empty")
	}
	if err := c.Session.Set(c, key, value); err != nil {
		return nil, err
	}
	if l := c.Live; l != nil {
		if l.Settings == nil {
			l.Settings = map[string]any{}
			l.Get = getter(l.Settings)
		}
		l.Settings[key] = value
	}
	return nil, nil
}

func sessionBind(ctx context.Context, uid string) (any, error) {
	c, err := liveSession(ctx)
	if err != nil {
		return nil, err
	}
	if uid == "" {
		return nil, errors.New("session.bind: the uid is empty")
	}
	if err := c.Session.Bind(c, uid); err != nil {
		return nil, err
	}
	if c.Live != nil {
		c.Live.UID = uid
	}
	return nil, nil
}

func sessionUnbind(ctx context.Context) (any, error) {
	c, err := liveSession(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Session.Unbind(c); err != nil {
		return nil, err
	}
	if c.Live != nil {
		c.Live.UID = ""
	}
	return nil, nil
}

func sessionKick(ctx context.Context, reason ...string) (any, error) {
	c, err := liveSession(ctx)
	if err != nil {
		return nil, err
	}
	why := "kicked"
	if len(reason) > 0 {
		why = reason[0]
	}
	return nil, c.Session.Kick(c, why)
}

func sessionBound(ctx context.Context, uid string) (bool, error) {
	c, err := liveSession(ctx)
	if err != nil {
		return false, err
	}
	return c.Session.Bound(uid)
}

func channelAdd(ctx context.Context, name, uid, frontend string) (bool, error) {
	c, err := call(ctx)
	if err != nil {
		return false, err
	}
	if err := channelArgs(name, uid); err != nil {
		return false, fmt.Errorf("channel.add: %w", err)
	}
	if frontend == "" {
		return false, errors.New("channel.add: the frontend id (sid) is empty")
	}
	return c.Host.Channels().Add(name, uid, frontend), nil
}

func channelLeave(ctx context.Context, name, uid string) (any, error) {
	c, err := call(ctx)
	if err != nil {
		return nil, err
	}
	c.Host.Channels().Leave(name, uid)
	return nil, nil
}

func channelMembers(ctx context.Context, name string) ([]string, error) {
	c, err := call(ctx)
	if err != nil {
		return nil, err
	}
	return c.Host.Channels().Members(name), nil
}

func channelMember(ctx context.Context, name, uid string) (any, error) {
	c, err := call(ctx)
	if err != nil {
		return nil, err
	}
	if fe, ok := c.Host.Channels().Member(name, uid); ok {
		return fe, nil
	}
	return nil, nil
}

func channelPush(ctx context.Context, name, route string, msg any, uids ...any) (any, error) {
	c, err := call(ctx)
	if err != nil {
		return nil, err
	}
	only, err := pushArgs("channel.push", route, uids)
	if err != nil {
		return nil, err
	}
	return nil, c.Host.Channels().Push(c, name, route, msg, only)
}

func channelDestroy(ctx context.Context, name string) (any, error) {
	c, err := call(ctx)
	if err != nil {
		return nil, err
	}
	c.Host.Channels().Destroy(name)
	return nil, nil
}

func channelArgs(name, uid string) error {
	if name == "" {
		return errors.New("the channel name is empty")
	}
	if uid == "" {
		return errors.New("the uid is empty")
	}
	return nil
}

// pushArgs checks a push's route and reads its optional list of uids: nil
// for none given (every member), else the uids.
func pushArgs(fn, route string, uids []any) ([]string, error) {
	if route == "" {
		return nil, fmt.Errorf("%s: the route is empty", fn)
	}
	var only []string
	switch {
	case len(uids) > 1:
		return nil, fmt.Errorf("%s: %d lists of uids; give one list, e.g. [uid1, uid2]", fn, len(uids))
	case len(uids) == 1:
		switch list := uids[0].(type) {
		case []string: // channel.members(name)
			only = list
		case []any:
			only = make([]string, 0, len(list))
			for _, u := range list {
				s, ok := u.(string)
				if !ok {
					return nil, fmt.Errorf("%s: uids must be strings, not %T %v", fn, u, u)
				}
				only = append(only, s)
			}
		default:
			return nil, fmt.Errorf("%s: uids must be a list of uids, not %T %v", fn, uids[0], uids[0])
		}
		if only == nil {
			only = []string{}
		}
	}
	return only, nil
}

// globalChannels is the run's host's global channels, or why there are
// none.
func globalChannels(ctx context.Context, fn string) (*Call, GlobalChannels, error) {
	c, err := call(ctx)
	if err != nil {
		return nil, nil, err
	}
	gc := c.Host.GlobalChannels()
	if gc == nil {
		return nil, nil, fmt.Errorf("globalChannel.%s: the topology declares no globalChannel (channels in Redis)", fn)
	}
	return c, gc, nil
}

func globalAdd(ctx context.Context, name, uid, frontend string) (any, error) {
	c, gc, err := globalChannels(ctx, "add")
	if err != nil {
		return nil, err
	}
	return nil, gc.Add(c, name, uid, frontend)
}

func globalLeave(ctx context.Context, name, uid, frontend string) (any, error) {
	c, gc, err := globalChannels(ctx, "leave")
	if err != nil {
		return nil, err
	}
	return nil, gc.Leave(c, name, uid, frontend)
}

func globalMembers(ctx context.Context, name string) (map[string]any, error) {
	c, gc, err := globalChannels(ctx, "members")
	if err != nil {
		return nil, err
	}
	m, err := gc.Members(c, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(m))
	for fe, uids := range m {
		out[fe] = uids
	}
	return out, nil
}

func globalPush(ctx context.Context, name, route string, msg any, uids ...any) (any, error) {
	c, gc, err := globalChannels(ctx, "push")
	if err != nil {
		return nil, err
	}
	only, err := pushArgs("globalChannel.push", route, uids)
	if err != nil {
		return nil, err
	}
	return nil, gc.Push(c, name, route, msg, only)
}

func globalDestroy(ctx context.Context, name string) (any, error) {
	c, gc, err := globalChannels(ctx, "destroy")
	if err != nil {
		return nil, err
	}
	return nil, gc.Destroy(c, name)
}
