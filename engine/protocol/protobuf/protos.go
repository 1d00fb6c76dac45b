package protobuf

import "bytes"

// Protos is a parsed set of pomelo-protobuf definitions (serverProtos.json or
// clientProtos.json), keeping the order in which everything was declared.
// It is immutable once parsed and safe for concurrent use. A nil *Protos is
// an empty set.
type Protos struct {
	routes orderedSet[*message] // by route, in JavaScript's key order
	json   []byte               // JSON.stringify of the parsed form, built once
}

// Has reports whether route has a proto.
func (p *Protos) Has(route string) bool {
	if p == nil {
		return false
	}
	_, ok := p.routes.get(route)
	return ok
}

// JSON is the parsed form exactly as JavaScript's
// JSON.stringify(protobuf.parse(obj)) writes it, which is what the handshake
// carries and what the protos version hashes. A nil *Protos is {}.
func (p *Protos) JSON() []byte {
	if p == nil {
		return []byte("{}")
	}
	return bytes.Clone(p.json)
}

// rawJSON is JSON without the copy, for callers in this package that only read.
func (p *Protos) rawJSON() []byte {
	if p == nil {
		return []byte("{}")
	}
	return p.json
}

// lookup finds the message a route or a root "message X" entry names.
func (p *Protos) lookup(route string) *message {
	if p == nil {
		return nil
	}
	m, _ := p.routes.get(route)
	return m
}

// option is a field's label.
type option uint8

const (
	required option = iota
	optional
	repeated
)

var optionNames = [...]string{required: "required", optional: "optional", repeated: "repeated"}

func (o option) String() string { return optionNames[o] }

// kind is how a field's value is written, decided from its type name the way
// pomelo-protobuf's encoder decides it.
type kind uint8

const (
	kindUInt32  kind = iota // varint
	kindSInt32              // zigzag varint; pomelo-protobuf's int32 is the same
	kindFloat               // 4 bytes little-endian
	kindDouble              // 8 bytes little-endian
	kindString              // length-prefixed UTF-8
	kindMessage             // length-prefixed nested message
	kindUnknown             // a type name that names no message: unusable
	kindInt64               // uInt64/sInt64: listed by pomelo-protobuf, never implemented
)

// message is one parsed proto: a route's, a root "message X" entry's or a
// nested message's.
type message struct {
	// fields are the usable fields, in JavaScript's key order of the parsed
	// object: the order they are encoded in.
	fields []*field
	// byName is every field by name, including one named __proto__, which
	// JavaScript keeps out of the parsed object but which still owns its tag.
	byName map[string]*field
	// byTag maps a tag read from the wire to its field. Only tags whose
	// property key is the decimal form of an int32 can ever be looked up.
	byTag map[int32]*field
	// nested are the message's own "message X" definitions.
	nested orderedSet[*message]
	// tags is the __tags object: String(tag) → field name.
	tags orderedSet[string]
	// slots is the parsed object's key order for JSON: field names and the
	// __messages and __tags entries, which a field of that name would have
	// placed earlier.
	slots []slot
}

// slot is one key of a parsed message object.
type slot struct {
	name  string
	field *field // nil for __messages and __tags
}

// field is one "option type name": tag entry.
type field struct {
	name   string
	option option
	typ    string
	tag    jsValue // as written, for JSON
	kind   kind
	msg    *message // for kindMessage
	head   []byte   // the encoded tag and wire type; nil if out of range
	tagNum int32    // ToInt32(tag), for error messages
	// hidden is set for a field named __proto__: assigning it in JavaScript
	// replaces the object's prototype instead of adding a property, so it
	// is neither in the JSON nor checked nor encoded, but its tag decodes.
	hidden bool
}
