package scripting

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled expression of the environment E. It is safe for
// concurrent use, and a run allocates no VM: each is reused.
type Program[E any] struct {
	src     string
	program *vm.Program
	names   map[string]bool // the variables it names
	passes  bool            // it only hands msg on (PassesMsg)
	vms     sync.Pool       // of *vm.VM
}

// Source returns the expression as written.
func (p *Program[E]) Source() string { return p.src }

// Reads reports whether the expression names the variable name: one that
// does not read msg spares every request the decoding of its message.
func (p *Program[E]) Reads(name string) bool { return p.names[name] }

// PassesMsg reports whether the expression only hands msg on, whole: as a
// value in a map or a list it gives, as what it gives, or as an argument
// of rpc, rpcTo, push or channel.push, which encode it again. Such an
// expression may be given the request's JSON as it came (a
// json.RawMessage), sparing the decoding and the encoding; one that looks
// into msg, compares it or hands it to anything else gets it decoded.
func (p *Program[E]) PassesMsg() bool { return p.passes }

// Run runs the expression against env and gives its value. An error the
// expression gives with error(code, message) is a *Failure; any other is
// an *Error at its place in the expression, wrapping what went wrong (an
// RPC's error, say), so that errors.As finds it.
func (p *Program[E]) Run(env *E) (any, error) {
	machine, _ := p.vms.Get().(*vm.VM)
	if machine == nil {
		machine = new(vm.VM)
	}
	// A pointer, so that expr does not copy the whole env into an interface.
	out, err := machine.Run(p.program, env)
	p.vms.Put(machine)
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return nil, f
		}
		e := fromExpr(p.src, err, vocabulary{})
		e.cause = errors.Unwrap(err)
		return nil, e
	}
	return out, nil
}

// compile compiles src in the environment E, with funcs. A compile error
// is an *Error.
func compile[E any](src, empty string, funcs []function) (*Program[E], error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Line: 1, Column: 1, Msg: "the expression is empty", Hint: empty}
	}
	var env E
	opts := compileOptions(env, funcs)
	if _, ok := reflect.TypeFor[E]().FieldByName("Ctx"); ok {
		if err := reserved(src); err != nil {
			return nil, err
		}
		opts = append(opts, expr.Patch(ctxPatcher{}), expr.Function(tickFunction.name, tickFunction.fn, tickFunction.sig),
			expr.Function(addFunction.name, addFunction.fn, addFunction.sig))
	}
	program, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, fromExpr(src, err, vocabulary{reflect.TypeFor[E](), funcs})
	}
	return &Program[E]{src: src, program: program, names: identifiers(program.Node()), passes: passesMsg(program.Node())}, nil
}

// identifiers are the names of the variables under node.
func identifiers(node ast.Node) map[string]bool {
	out := map[string]bool{}
	ast.Find(node, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok {
			out[id.Value] = true
		}
		return false
	})
	return out
}

// passesMsg reports whether every msg under root is handed on whole (see
// PassesMsg), and there is one.
func passesMsg(root ast.Node) bool {
	handedOn := map[ast.Node]bool{root: true}
	ast.Find(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.PairNode:
			handedOn[n.Value] = true
		case *ast.ArrayNode:
			for _, e := range n.Nodes {
				handedOn[e] = true
			}
		case *ast.CallNode:
			if takesCtx(n.Callee) && !isLog(n.Callee) {
				for _, a := range n.Arguments {
					handedOn[a] = true
				}
			}
		}
		return false
	})
	seen, whole := false, true
	ast.Find(root, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok && id.Value == "msg" {
			seen = true
			whole = whole && handedOn[n]
		}
		return false
	})
	return seen && whole
}

func isLog(callee ast.Node) bool {
	id, ok := callee.(*ast.IdentifierNode)
	return ok && id.Value == "log"
}

// actingFunctions are what an expression with a ctx may call.
func actingFunctions() []function {
	return append(append(functions(), valueFunctions()...), contextFunctions()...)
}

// CompileHandler compiles a handler: its value is the response.
func CompileHandler(src string) (*Program[HandlerEnv], error) {
	return compile[HandlerEnv](src, `e.g. {code: 200, msg: msg}`, append(actingFunctions(), replyFunction))
}

// CompileRemote compiles a remote: its value is the answer.
func CompileRemote(src string) (*Program[RemoteEnv], error) {
	return compile[RemoteEnv](src, `e.g. channel.members(args.rid)`, append(actingFunctions(), replyFunction))
}

// CompileFilter compiles a before filter: a request goes on when its value
// is true. A value the checker knows is not a boolean is an error now.
func CompileFilter(src string) (*Program[FilterEnv], error) {
	p, err := compile[FilterEnv](src, `e.g. session.uid != ""`, actingFunctions())
	if err != nil {
		return nil, err
	}
	if t := p.program.Node().Type(); t == nil || t.Kind() != reflect.Bool && t.Kind() != reflect.Interface {
		what := "nil"
		if t != nil {
			what = typeWord(t)
		}
		return nil, errorAt(src, start(src), "a filter must give true (go on) or false (refuse); this one gives "+what, "")
	}
	return p, nil
}

// CompileAfter compiles an after filter, run for what it does.
func CompileAfter(src string) (*Program[AfterEnv], error) {
	return compile[AfterEnv](src, `e.g. log(route, ms)`, actingFunctions())
}

// CompileErrorHandler compiles an error handler: its value replaces a
// failed request's response; nil keeps it.
func CompileErrorHandler(src string) (*Program[ErrorEnv], error) {
	return compile[ErrorEnv](src, `e.g. {code: err.code, error: true}`, actingFunctions())
}

// CompileHook compiles afterStart, afterStartAll or beforeStop.
func CompileHook(src string) (*Program[HookEnv], error) {
	return compile[HookEnv](src, `e.g. log("started", server.id)`, actingFunctions())
}

// CompileSessionHook compiles onSessionBind or onSessionClose.
func CompileSessionHook(src string) (*Program[SessionHookEnv], error) {
	return compile[SessionHookEnv](src, `e.g. log(session.uid)`, actingFunctions())
}

// CompilePeerHook compiles onServerAdded or onServerRemoved.
func CompilePeerHook(src string) (*Program[PeerHookEnv], error) {
	return compile[PeerHookEnv](src, `e.g. log(peer.id)`, actingFunctions())
}

// boundedAdd turns a + inside a loop whose operands may be strings into
// addFunction, which refuses to build a string past maxString: a loop
// that doubles a string (reduce(1..n, #acc + #acc, "x")) would otherwise
// ask for terabytes within forty steps, and expr does not count strings
// against its memory budget. A + of numbers the checker knows stays as it
// is.
type boundedAdd struct{}

func (boundedAdd) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "+" || numeric(b.Left) && numeric(b.Right) {
		return
	}
	ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: addFunction.name}, Arguments: []ast.Node{b.Left, b.Right}})
}

func numeric(n ast.Node) bool {
	t := n.Type()
	return t != nil && (isInteger(t.Kind()) || t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64)
}

// reserved refuses an expression that names the run's ctx (or reaches it
// through $env): its Go methods would act without the checks the
// functions make.
func reserved(src string) error {
	tree, err := parser.Parse(src)
	if err != nil {
		return fromExpr(src, err, vocabulary{})
	}
	var bad ast.Node
	ast.Find(tree.Node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IdentifierNode:
			if n.Value == "ctx" || n.Value == "$env" {
				bad = n
			}
		case *ast.VariableDeclaratorNode:
			if n.Name == "ctx" {
				bad = n
			}
		}
		return bad != nil
	})
	if bad == nil {
		return nil
	}
	return errorAt(src, bad.Location().From, "ctx and $env are the runtime's names, not an expression's", "use the functions instead: rpc, push, session.bind, channel.add...")
}

// ctxPatcher hands the run's ctx to every call that acts on the cluster:
// rpc("a.b.c", x) becomes rpc(ctx, "a.b.c", x), session.bind(u) becomes
// session.bind(ctx, u). It goes by the names alone: expr's own
// WithContext goes by the callee's type, which the checker leaves unknown
// inside some built-ins (len(channel.members("room"))).
//
// It also counts the steps of every loop (each element a map, filter, all,
// count, sum, reduce... visits, through tick): a run that takes more than
// maxSteps fails instead of holding its goroutine for minutes.
type ctxPatcher struct{}

func (ctxPatcher) Visit(node *ast.Node) {
	if p, ok := (*node).(*ast.PredicateNode); ok {
		ast.Walk(&p.Node, boundedAdd{})
		tick := &ast.CallNode{Callee: &ast.IdentifierNode{Value: tickFunction.name}, Arguments: []ast.Node{&ast.IdentifierNode{Value: "ctx"}}}
		p.Node = &ast.SequenceNode{Nodes: []ast.Node{tick, p.Node}}
		return
	}
	call, ok := (*node).(*ast.CallNode)
	if !ok || !takesCtx(call.Callee) {
		return
	}
	if len(call.Arguments) > 0 {
		if id, ok := call.Arguments[0].(*ast.IdentifierNode); ok && id.Value == "ctx" {
			return // patched already
		}
	}
	call.Arguments = append([]ast.Node{&ast.IdentifierNode{Value: "ctx"}}, call.Arguments...)
}

// takesCtx reports whether callee is a function that acts: one of
// contextFunctions, or a function of session or channel whose first
// parameter is a context.
func takesCtx(callee ast.Node) bool {
	switch c := callee.(type) {
	case *ast.IdentifierNode:
		return actingNames[c.Value]
	case *ast.MemberNode:
		obj, ok := c.Node.(*ast.IdentifierNode)
		prop, ok2 := c.Property.(*ast.StringNode)
		return ok && ok2 && actingMembers[obj.Value][prop.Value]
	}
	return false
}

// actingNames and actingMembers are what takesCtx knows, from the
// functions and the types themselves.
var (
	actingNames   = functionNames(contextFunctions())
	actingMembers = map[string]map[string]bool{
		"session":       ctxFields(reflect.TypeFor[LiveSession]()),
		"channel":       ctxFields(reflect.TypeFor[ChannelFuncs]()),
		"globalChannel": ctxFields(reflect.TypeFor[GlobalChannelFuncs]()),
	}
)

func functionNames(fs []function) map[string]bool {
	out := map[string]bool{}
	for _, f := range fs {
		out[f.name] = true
	}
	return out
}

// ctxFields are the expr names of t's func fields whose first parameter
// is a context.
func ctxFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Func && f.Type.NumIn() > 0 && f.Type.In(0) == reflect.TypeFor[context.Context]() {
			out[f.Tag.Get("expr")] = true
		}
	}
	return out
}
