package scripting

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm/runtime"
)

// contextFunctions are the functions that act on the cluster, for the
// environments that have a ctx (not routers). expr passes the run's ctx
// as their first argument; an expression writes the rest.
func contextFunctions() []function {
	return []function{
		{"rpc", rpcFunc, new(func(context.Context, string, any, ...time.Duration) any)},
		{"rpcTo", rpcToFunc, new(func(context.Context, string, string, any, ...time.Duration) any)},
		{"push", pushFunc, new(func(context.Context, string, any, []any) any)},
		{"log", logFunc, new(func(context.Context, ...any) any)},
	}
}

// valueFunctions are the functions every environment with a ctx adds to
// crc32 and str: they compute, and act on nothing.
func valueFunctions() []function {
	return []function{
		{"error", errorFunc, new(func(int, ...string) any)},
		{"md5", hashFunc(func(b []byte) []byte { s := md5.Sum(b); return s[:] }), new(func(string) string)},
		{"sha1", hashFunc(func(b []byte) []byte { s := sha1.Sum(b); return s[:] }), new(func(string) string)},
		{"sha256", hashFunc(func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }), new(func(string) string)},
		{"fnv32", fnv32Func, new(func(string) int)},
	}
}

// maxSteps bounds the loop steps of one run: a million elements visited,
// tens of milliseconds, far more than a game's expression needs, and far
// less than a loop over a client's number could take.
const maxSteps = 1_000_000

// tickFunction counts a loop's step (the patcher calls it in every loop's
// predicate); past maxSteps the run fails. An expression cannot call it:
// it takes the run's ctx, which an expression cannot name.
var tickFunction = function{"$tick", tickFunc, new(func(context.Context) any)}

func tickFunc(args ...any) (any, error) {
	c, ok := args[0].(*Call)
	if !ok || c == nil {
		return nil, nil
	}
	if c.steps++; c.steps > maxSteps {
		return nil, fmt.Errorf("the expression took more than %d loop steps; loop over less (a client's number, say, bounded first)", maxSteps)
	}
	return nil, nil
}

// maxString bounds a string a loop builds with +: a megabyte.
const maxString = 1 << 20

// addFunction is + inside a loop (see boundedAdd): expr's own, but a
// string past maxString is an error.
var addFunction = function{"$add", addFunc, new(func(any, any) any)}

func addFunc(args ...any) (any, error) {
	if a, ok := args[0].(string); ok {
		if b, ok := args[1].(string); ok {
			if len(a)+len(b) > maxString {
				return nil, fmt.Errorf("a loop built a string past %d bytes; build less (bound a client's number first)", maxString)
			}
			return a + b, nil
		}
	}
	return runtime.Add(args[0], args[1]), nil
}

// rpc(route, args[, timeout]) calls a remote on the server its type's
// router picks for the run's session.
func rpcFunc(args ...any) (any, error) {
	c, err := call(args[0])
	if err != nil {
		return nil, err
	}
	route, _ := args[1].(string)
	return c.rpc("", route, args[2], args[3:])
}

// rpcTo(serverId, route, args[, timeout]) calls a remote on one server.
func rpcToFunc(args ...any) (any, error) {
	c, err := call(args[0])
	if err != nil {
		return nil, err
	}
	id, _ := args[1].(string)
	if id == "" {
		return nil, errors.New("rpcTo: the server id is empty")
	}
	route, _ := args[2].(string)
	return c.rpc(id, route, args[3], args[4:])
}

func (c *Call) rpc(id, route string, args any, timeout []any) (any, error) {
	if strings.Count(route, ".") != 2 {
		return nil, fmt.Errorf("rpc: route %q is not type.remote.method", route)
	}
	ctx := context.Context(c)
	if len(timeout) > 0 {
		d, _ := timeout[0].(time.Duration)
		if d <= 0 {
			return nil, fmt.Errorf("rpc %s: the timeout %v is not above 0", route, timeout[0])
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	by := c.By
	if c.Live != nil {
		by = c.Live.Info()
	}
	return c.Host.Call(ctx, id, route, by, args)
}

// push(route, msg, targets) pushes to users, each target a {uid, sid}.
func pushFunc(args ...any) (any, error) {
	c, err := call(args[0])
	if err != nil {
		return nil, err
	}
	route, _ := args[1].(string)
	if route == "" {
		return nil, errors.New("push: the route is empty")
	}
	list, _ := args[3].([]any)
	targets := make([]Target, 0, len(list))
	for _, t := range list {
		m, _ := t.(map[string]any)
		uid, _ := m["uid"].(string)
		sid, _ := m["sid"].(string)
		if uid == "" || sid == "" {
			return nil, fmt.Errorf("push %s: a target must be {uid: \"…\", sid: \"frontend id\"}, not %v", route, t)
		}
		targets = append(targets, Target{UID: uid, Frontend: sid})
	}
	return nil, c.Host.Push(c, route, args[2], targets)
}

// log(values...) logs at info, with where the expression is.
func logFunc(args ...any) (any, error) {
	c, err := call(args[0])
	if err != nil {
		return nil, err
	}
	if c.Log != nil {
		c.Log.Info(strings.TrimSuffix(fmt.Sprintln(args[1:]...), "\n"))
	}
	return nil, nil
}

// error(code[, message]) refuses: the client gets code and message. A
// code a client would take for success (200, or none) is a mistake.
func errorFunc(args ...any) (any, error) {
	code, _ := args[0].(int)
	if code < 1 || code == 200 {
		return nil, fmt.Errorf("error(%d): an error's code cannot be %d, which clients take for success; write e.g. error(500, \"why\")", code, code)
	}
	msg := "refused"
	if len(args) > 1 {
		msg, _ = args[1].(string)
	}
	return nil, &Failure{Code: code, Msg: msg}
}

// replyFunction is reply(x), which is x: a handler's value is its
// response, as Pomelo's next(null, x), and reply names it. Handlers and
// remotes have it; an after filter's reply is the answer itself.
var replyFunction = function{"reply", replyFunc, new(func(any) any)}

func replyFunc(args ...any) (any, error) { return args[0], nil }

func hashFunc(sum func([]byte) []byte) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("a hash needs a string, not %T %v; write it with str(x)", args[0], args[0])
		}
		return hex.EncodeToString(sum([]byte(s))), nil
	}
}

func fnv32Func(args ...any) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("fnv32 needs a string, not %T %v; write fnv32(str(x))", args[0], args[0])
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32()), nil
}
