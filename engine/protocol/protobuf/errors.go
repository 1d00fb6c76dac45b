package protobuf

import (
	"strconv"
	"strings"
)

// fieldError is an encoding or decoding failure at some field of a message.
// Its path is filled in on the way out of the recursion, each enclosing
// message adding its field, so that nothing is spent on paths while nothing
// fails.
type fieldError struct {
	op    string    // "encode" or "decode"
	route string    // set on the way out
	path  []pathSeg // innermost first
	field *field    // the field at fault; nil when it is the message itself
	off   int       // for decode, where in the input; -1 otherwise
	err   error
}

// pathSeg is a field name (index -1) or an element index.
type pathSeg struct {
	name  string
	index int
}

// at records, on the way out, that the failure is inside field name.
func (e *fieldError) at(name string) *fieldError {
	e.path = append(e.path, pathSeg{name: name, index: -1})
	return e
}

// elem records, on the way out, that the failure is in element i.
func (e *fieldError) elem(i int) *fieldError {
	e.path = append(e.path, pathSeg{index: i})
	return e
}

func (e *fieldError) Unwrap() error { return e.err }

func (e *fieldError) Error() string {
	var b strings.Builder
	b.WriteString("protobuf: ")
	b.WriteString(e.op)
	b.WriteByte(' ')
	b.WriteString(strconv.Quote(e.route))
	b.WriteString(": ")
	if e.field != nil {
		b.WriteString("field ")
	}
	if len(e.path) == 0 {
		b.WriteString("message")
	}
	for i := len(e.path) - 1; i >= 0; i-- {
		s := e.path[i]
		switch {
		case s.index >= 0:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case i < len(e.path)-1:
			b.WriteByte('.')
			fallthrough
		default:
			b.WriteString(s.name)
		}
	}
	if e.field != nil {
		b.WriteString(" (")
		b.WriteString(e.field.option.String())
		b.WriteByte(' ')
		b.WriteString(e.field.typ)
		b.WriteByte(')')
	}
	if e.off >= 0 {
		b.WriteString(" at byte ")
		b.WriteString(strconv.Itoa(e.off))
	}
	b.WriteString(": ")
	b.WriteString(e.err.Error())
	return b.String()
}
