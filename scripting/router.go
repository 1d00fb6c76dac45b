package scripting

import (
	"errors"
	"reflect"
	"time"
	"unicode"

	"github.com/expr-lang/expr/ast"
)

// Router is a compiled router expression. It is safe for concurrent use.
type Router struct {
	prog     *Program[RouterEnv]
	readsMsg bool
}

const routerWants = "a router must give a server, a server id or an index into servers"

// CompileRouter compiles a router expression. A compile error is an *Error.
//
// The expression must give a Server (an element of servers), a server id (a
// string) or an index into servers (an integer). When the checker knows the
// expression gives something else, that is an error now; when it cannot know (a
// value from msg or a setting), Pick checks the value it gets.
func CompileRouter(src string) (*Router, error) {
	prog, err := compile[RouterEnv](src, "e.g. servers[crc32(session.uid) % len(servers)]", functions())
	if err != nil {
		if e, ok := err.(*Error); ok && e.Msg == "the expression is empty" {
			e.Msg = "the router expression is empty"
		}
		return nil, err
	}
	if what := notRouterResult(prog.program.Node()); what != "" {
		return nil, errorAt(src, start(src), routerWants+"; this one gives "+what, "")
	}
	return &Router{prog: prog, readsMsg: prog.Reads("msg")}, nil
}

// ReadsMsg reports whether the expression reads msg. A router that does
// not spares every request's message the decoding.
func (r *Router) ReadsMsg() bool { return r.readsMsg }

// notRouterResult names what node gives when the checker knows it is not a
// Server, a string or an integer, and returns "" otherwise.
func notRouterResult(node ast.Node) string {
	if _, ok := node.(*ast.NilNode); ok {
		return "nil"
	}
	t := node.Type()
	switch {
	case t == reflect.TypeFor[time.Duration](): // an int64, but never an index
		return "duration"
	case t == reflect.TypeFor[Server](), t.Kind() == reflect.String, isInteger(t.Kind()), t.Kind() == reflect.Interface:
		return ""
	}
	return typeWord(t)
}

// typeWord names a type as an expression writer knows it.
func typeWord(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "duration"
	case t.Kind() == reflect.String:
		return "string"
	case isInteger(t.Kind()):
		return "int"
	case t.Kind() == reflect.Float32, t.Kind() == reflect.Float64:
		return "float"
	case t.Kind() == reflect.Map:
		return "map"
	case t.Kind() == reflect.Slice, t.Kind() == reflect.Array:
		return "list"
	case t.Kind() == reflect.Func:
		return "function"
	}
	return t.String()
}

func isInteger(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Uintptr
}

// start is the offset, in characters, of the first character of src that is not
// space, where an error about the expression as a whole points.
func start(src string) int {
	n := 0
	for _, r := range src {
		if !unicode.IsSpace(r) {
			return n
		}
		n++
	}
	return 0
}

// Source returns the expression as written.
func (r *Router) Source() string { return r.prog.Source() }

// Pick runs the router for one request and returns the server it chose, which is
// always one of env.Servers. An error running the expression is an *Error.
func (r *Router) Pick(env RouterEnv) (Server, error) {
	if len(env.Servers) == 0 {
		return Server{}, ErrNoServers
	}
	if env.Session.Get == nil {
		env.Session.Get = getter(env.Session.Settings)
	}
	out, err := r.prog.Run(&env)
	if err != nil {
		return Server{}, err
	}
	return chosen(out, env.Servers)
}

// ErrNoServers is returned by Pick and DefaultPick when a request has no candidate
// servers: every server of its type is down, or the type has none.
var ErrNoServers = errors.New("there are no servers to route to")
