package topology

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in a source file. Line and Col count from 1; a zero Line means the
// place is the file as a whole.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

func comparePos(a, b Pos) int {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}

// Error is one problem in a topology: where, what is wrong, and (when there is
// something better to write) what to write instead.
type Error struct {
	Pos  Pos
	Path string // the key path, e.g. servers.connector.instances[0].port
	Msg  string
	Hint string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// ErrorList is every problem found in a topology, in file order. Like
// go/scanner.ErrorList, Err returns nil when it is empty.
type ErrorList []*Error

// ErrInvalid is matched (errors.Is) by every ErrorList, so that callers can tell an
// invalid topology (exit status 2) from a failure to read one.
var ErrInvalid = errors.New("invalid topology")

func (l *ErrorList) add(pos Pos, path, msg, hint string) {
	*l = append(*l, &Error{Pos: pos, Path: path, Msg: msg, Hint: hint})
}

// Sort orders the list by file, line and column, keeping the order of errors found
// at one place.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *Error) int { return comparePos(a.Pos, b.Pos) })
}

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true for any ErrorList.
func (l ErrorList) Is(target error) bool { return target == ErrInvalid }

// Err returns the list sorted as an error, or nil when there is nothing in it.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Warning is something that loads but deserves the operator's eye: a value that was
// changed or dropped, or a check that could not be made on this machine.
type Warning struct {
	Pos Pos
	Msg string
}

func (w Warning) String() string { return w.Pos.String() + ": warning: " + w.Msg }
