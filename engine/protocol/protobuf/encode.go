package protobuf

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Encode encodes msg for route with the route's proto. msg is a decoded JSON
// value (map[string]any and what it holds) or any Go value encoding/json can
// marshal to an object. Fields are written in the proto's declaration order.
//
// pomelo-protobuf writes them in the order of the JavaScript message object's
// keys; a Go map has no order, so declaration order is the canonical choice,
// and it is byte for byte pomelo-protobuf's output whenever the JavaScript
// object lists its keys in declaration order. Keys the proto does not name
// are ignored, as pomelo-protobuf ignores them; a null or absent optional
// field is left out. A missing required field, a value of the wrong type or
// out of range is an error naming the route and the field's path.
func (p *Protos) Encode(route string, msg any) ([]byte, error) {
	return p.AppendEncode(nil, route, msg)
}

// AppendEncode is Encode appending to dst. On error it returns dst as it was.
func (p *Protos) AppendEncode(dst []byte, route string, msg any) ([]byte, error) {
	m := p.lookup(route)
	if m == nil {
		return dst, fmt.Errorf("protobuf: encode %q: no proto for this route", route)
	}
	v, err := normalize(msg)
	if err != nil {
		return dst, fmt.Errorf("protobuf: encode %q: %w", route, err)
	}
	var obj map[string]any
	switch t := v.(type) {
	case nil:
	case map[string]any:
		obj = t
	default:
		return dst, fmt.Errorf("protobuf: encode %q: the message must be an object, not %s", route, describe(v))
	}
	out, ferr := encodeMessage(dst, m, obj, 0)
	if ferr != nil {
		ferr.op, ferr.route = "encode", route
		return dst, ferr
	}
	return out, nil
}

// encodeErr is a failure at field f (nil for the message itself).
func encodeErr(f *field, format string, args ...any) *fieldError {
	return &fieldError{field: f, off: -1, err: fmt.Errorf(format, args...)}
}

func encodeMessage(dst []byte, m *message, obj map[string]any, depth int) ([]byte, *fieldError) {
	if depth >= maxDepth {
		return nil, encodeErr(nil, "messages nested more than %d deep", maxDepth)
	}
	for _, f := range m.fields {
		var ferr *fieldError
		if dst, ferr = encodeField(dst, f, obj, depth); ferr != nil {
			return nil, ferr.at(f.name)
		}
	}
	return dst, nil
}

// encodeField writes field f of obj, if obj has it.
func encodeField(dst []byte, f *field, obj map[string]any, depth int) ([]byte, *fieldError) {
	raw, ok := obj[f.name]
	var v any
	if ok {
		var err error
		if v, err = normalize(raw); err != nil {
			return nil, encodeErr(f, "%w", err)
		}
	}
	if v == nil {
		// pomelo-protobuf throws on a null it is asked to write; leaving
		// it out is what a Go caller marshalling a nil pointer means.
		if f.option == required {
			if ok {
				return nil, encodeErr(f, "null, and a required field needs a value")
			}
			return nil, encodeErr(f, "missing")
		}
		return dst, nil
	}
	if ferr := usable(f); ferr != nil {
		return nil, ferr
	}
	var ferr *fieldError
	if f.option != repeated {
		dst = append(dst, f.head...)
		return encodeValue(dst, f, v, depth)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, encodeErr(f, "want an array, got %s", describe(v))
	}
	if len(list) == 0 {
		return dst, nil
	}
	if f.kind == kindInt64 {
		return nil, encodeErr(f, "pomelo-protobuf cannot write %s values (it lists the type but never implemented it)", f.typ)
	}
	packed := f.kind <= kindDouble
	if packed {
		// One tag, the element count, then the bare elements.
		dst = append(dst, f.head...)
		dst = appendVarint(dst, uint64(len(list)))
	}
	for i, el := range list {
		el, err := normalize(el)
		if err != nil {
			return nil, encodeErr(f, "%w", err).elem(i)
		}
		if el == nil {
			return nil, encodeErr(f, "null is not a %s", f.typ).elem(i)
		}
		if !packed {
			dst = append(dst, f.head...)
		}
		if dst, ferr = encodeValue(dst, f, el, depth); ferr != nil {
			return nil, ferr.elem(i)
		}
	}
	return dst, nil
}

// usable refuses, once a value is there to write, a field pomelo-protobuf
// could not write properly either.
func usable(f *field) *fieldError {
	switch {
	case f.kind == kindUnknown:
		return encodeErr(f, "%q is not a scalar type, and no \"message %s\" is defined in this message or at the top of the protos file", f.typ, f.typ)
	case f.head == nil:
		return encodeErr(f, "tag %s does not fit in a pomelo-protobuf tag", jsToString(f.tag))
	}
	return nil
}

// encodeValue writes one value of f's type (one element, for a repeated field).
func encodeValue(dst []byte, f *field, v any, depth int) ([]byte, *fieldError) {
	switch f.kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return nil, encodeErr(f, "want a string, got %s", describe(v))
		}
		if !utf8.ValidString(s) {
			s = decodeUTF8([]byte(s), false) // what a JavaScript string could hold
		}
		dst = appendVarint(dst, uint64(len(s)))
		return append(dst, s...), nil
	case kindMessage:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, encodeErr(f, "want an object, got %s", describe(v))
		}
		// Reserve one byte for the length, which is all most nested messages
		// need, and make room afterwards if it takes more.
		start := len(dst)
		dst = append(dst, 0)
		var ferr *fieldError
		if dst, ferr = encodeMessage(dst, f.msg, obj, depth+1); ferr != nil {
			return nil, ferr
		}
		n := len(dst) - start - 1
		k := varintLen(uint64(n))
		if k > 1 {
			dst = append(dst, make([]byte, k-1)...)
			copy(dst[start+k:], dst[start+1:start+1+n])
		}
		putVarint(dst[start:start+k], uint64(n))
		return dst, nil
	}
	n, ok := numberOf(v)
	if !ok {
		return nil, encodeErr(f, "want a number, got %s", describe(v))
	}
	switch f.kind {
	case kindFloat:
		f32 := float32(n)
		if math.IsInf(float64(f32), 0) && !math.IsInf(n, 0) {
			return nil, encodeErr(f, "%s is out of a float's range", describe(v))
		}
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f32)), nil
	case kindDouble:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(n)), nil
	}
	// pomelo-protobuf's integers go through parseInt, which truncates a
	// fraction toward zero; a value outside 32 bits is refused.
	t := math.Trunc(n)
	if f.kind == kindUInt32 {
		if !(t >= 0 && t <= math.MaxUint32) {
			return nil, encodeErr(f, "%s is out of range 0..4294967295", describe(v))
		}
		return appendVarint(dst, uint64(t)), nil
	}
	if !(t >= math.MinInt32 && t <= math.MaxInt32) {
		return nil, encodeErr(f, "%s is out of range -2147483648..2147483647", describe(v))
	}
	i := int32(t)
	return appendVarint(dst, uint64(uint32(i<<1)^uint32(i>>31))), nil
}
