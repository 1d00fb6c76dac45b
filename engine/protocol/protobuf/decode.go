package protobuf

import (
	"errors"
	"fmt"
	"slices"
)

// Decode decodes b, a message body for route, into what JSON.parse would
// give for the message pomelo-protobuf's decoder returns: numbers are
// float64 and repeated fields []any. Required fields are not checked, as
// pomelo-protobuf does not check them.
//
// The wire type in each tag is not checked against the field's type either:
// pomelo-protobuf's browser encoder writes integers with wire type 2 where
// its Node encoder writes 0, and both decoders ignore it. A wire type neither
// encoder ever writes, a tag the proto does not have (pomelo-protobuf throws
// on it), truncated input and lengths past the end are errors; nothing in b
// can make Decode panic or allocate much more than b's size.
func (p *Protos) Decode(route string, b []byte) (map[string]any, error) {
	m := p.lookup(route)
	if m == nil {
		return nil, fmt.Errorf("protobuf: decode %q: no proto for this route", route)
	}
	out := make(map[string]any, len(m.fields))
	if ferr := decodeMessage(&reader{b: b}, m, out, 0); ferr != nil {
		ferr.op, ferr.route = "decode", route
		return nil, ferr
	}
	return out, nil
}

// decodeErr is a failure at byte off, at field f (nil for the message itself).
func decodeErr(f *field, off int, err error) *fieldError {
	return &fieldError{field: f, off: off, err: err}
}

var (
	errNotSupported = errors.New("pomelo-protobuf cannot read this type (uInt64 and sInt64 are listed but never implemented)")
	errUnknownType  = errors.New("the type is not a scalar type and names no message defined in this message or at the top of the protos file")
)

// decodeMessage reads fields until r's end, which for a nested message is the
// end its length prefix gave.
func decodeMessage(r *reader, m *message, out map[string]any, depth int) *fieldError {
	if depth >= maxDepth {
		return decodeErr(nil, r.off, fmt.Errorf("messages nested more than %d deep", maxDepth))
	}
	for r.off < len(r.b) {
		start := r.off
		head, err := r.varint()
		if err != nil {
			return decodeErr(nil, start, fmt.Errorf("reading a tag: %w", err))
		}
		switch wt := head & 7; wt {
		case 0, 1, 2, 5:
		default:
			return decodeErr(nil, start, fmt.Errorf("wire type %d is not one pomelo-protobuf writes", wt))
		}
		// The decoders take the tag as (head >> 3) on an int32.
		tag := int32(uint32(head)) >> 3
		f := m.byTag[tag]
		if f == nil {
			return decodeErr(nil, start, fmt.Errorf("tag %d is not in the proto", tag))
		}
		if ferr := decodeField(r, f, out, depth); ferr != nil {
			return ferr.at(f.name)
		}
	}
	return nil
}

// decodeField reads the value of field f whose tag was just read into out.
func decodeField(r *reader, f *field, out map[string]any, depth int) *fieldError {
	if f.option != repeated {
		v, ferr := decodeValue(r, f, depth)
		if ferr != nil {
			return ferr
		}
		if !f.hidden {
			out[f.name] = v
		}
		return nil
	}
	if f.kind == kindInt64 {
		return decodeErr(f, r.off, errNotSupported)
	}
	list, _ := out[f.name].([]any)
	switch f.kind {
	case kindUInt32, kindSInt32, kindFloat, kindDouble:
		// A count, then that many bare elements.
		countAt := r.off
		n, err := r.count(minSize(f.kind))
		if err != nil {
			return decodeErr(f, countAt, fmt.Errorf("reading the element count: %w", err))
		}
		if list == nil {
			list = make([]any, 0, n) // a count of 0 still decodes as []
		}
		list = slices.Grow(list, n)
		for i := 0; i < n; i++ {
			v, ferr := decodeValue(r, f, depth)
			if ferr != nil {
				return ferr.elem(len(list))
			}
			list = append(list, v)
		}
	default:
		v, ferr := decodeValue(r, f, depth)
		if ferr != nil {
			return ferr.elem(len(list))
		}
		list = append(list, v)
	}
	if !f.hidden {
		out[f.name] = list
	}
	return nil
}

// decodeValue reads one value of f's type (one element, for a repeated field).
func decodeValue(r *reader, f *field, depth int) (any, *fieldError) {
	off := r.off
	switch f.kind {
	case kindUInt32:
		u, err := r.varint()
		if err != nil {
			return nil, decodeErr(f, off, err)
		}
		return float64(u), nil
	case kindSInt32:
		u, err := r.varint()
		if err != nil {
			return nil, decodeErr(f, off, err)
		}
		return zigzag(u), nil
	case kindFloat:
		u, err := r.fixed32()
		if err != nil {
			return nil, decodeErr(f, off, err)
		}
		return float32From(u), nil
	case kindDouble:
		u, err := r.fixed64()
		if err != nil {
			return nil, decodeErr(f, off, err)
		}
		return float64From(u), nil
	case kindString:
		n, err := r.length()
		if err != nil {
			return nil, decodeErr(f, off, err)
		}
		return decodeUTF8(r.bytes(n), true), nil
	case kindMessage:
		n, err := r.length()
		if err != nil {
			return nil, decodeErr(f, off, err)
		}
		// The nested reader ends where the length says, so a field that
		// runs past it is caught as truncated rather than read from the
		// enclosing message.
		sub := reader{b: r.b[:r.off+n], off: r.off}
		obj := make(map[string]any, len(f.msg.fields))
		if ferr := decodeMessage(&sub, f.msg, obj, depth+1); ferr != nil {
			return nil, ferr
		}
		r.off = sub.off
		return obj, nil
	case kindInt64:
		return nil, decodeErr(f, off, errNotSupported)
	}
	return nil, decodeErr(f, off, errUnknownType)
}

// minSize is the fewest bytes one element of a counted repeated field takes,
// which bounds the count a given input can honestly claim.
func minSize(k kind) int {
	switch k {
	case kindFloat:
		return 4
	case kindDouble:
		return 8
	}
	return 1
}
