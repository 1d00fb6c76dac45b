package scripting

import (
	"fmt"
	"hash/crc32"
	"unsafe"

	"github.com/expr-lang/expr"
)

// Crc32 is the IEEE CRC-32 of the UTF-8 bytes of s, as a non-negative int. It is
// the hash Pomelo's routers take modulo the number of servers; router expressions
// call it as crc32, and the gate uses it directly so that both agree.
func Crc32(s string) int {
	// The string's own bytes, read in place: a copy was an allocation per
	// routed request.
	return int(crc32.ChecksumIEEE(unsafe.Slice(unsafe.StringData(s), len(s))))
}

// function is one Go function offered to expressions. sig is a pointer to a
// func value of the typed signature, so that the checker rejects crc32(1) at
// load time instead of at the first request.
type function struct {
	name string
	fn   func(args ...any) (any, error)
	sig  any
}

// functions are the functions every expression may call.
func functions() []function {
	return []function{
		{"crc32", crc32Func, new(func(string) int)},
		{"str", strFunc, new(func(any) string)},
	}
}

func crc32Func(args ...any) (any, error) {
	// An argument of unknown type, like msg.uid, passes the checker.
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("crc32 needs a string, not %T %v; write crc32(str(x))", args[0], args[0])
	}
	return Crc32(s), nil
}

func strFunc(args ...any) (any, error) {
	if s, ok := args[0].(string); ok {
		return s, nil // the usual case, session.get("rid"): no formatting
	}
	return fmt.Sprint(args[0]), nil
}

// compileOptions returns the options that give expressions env's names and the
// common functions. It builds them afresh on every call because expr's options
// write into the config they are given.
//
// repeat is left out: repeat(repeat("x", 999999), 999999) asks for a
// terabyte before expr's memory budget looks, and the process dies.
func compileOptions(env any, funcs []function) []expr.Option {
	opts := []expr.Option{expr.Env(env), expr.DisableBuiltin("repeat")}
	for _, f := range funcs {
		opts = append(opts, expr.Function(f.name, f.fn, f.sig))
	}
	return opts
}
