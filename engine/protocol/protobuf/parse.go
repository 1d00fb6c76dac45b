package protobuf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pomeloctl/pomeloctl/internal/jsjson"
)

// Parse reads a protos JSON file's bytes (as in serverProtos.json:
// {"onChat": {"required string msg": 1, ...}, "message Foo": {...}}) the way
// pomelo-protobuf's parser does, including what it silently skips: keys that
// are not "message Name" or "required|optional|repeated type name", and a
// field whose tag an earlier field already took. It returns an error only
// for bytes that are not JSON (or nest more than 1000 levels deep) or not an
// object of objects.
//
// The file is read as Node's require reads it: a byte order mark is dropped
// and invalid UTF-8 is replaced as Node replaces it. One difference remains:
// a lone UTF-16 surrogate escape such as "\ud800" becomes U+FFFD here,
// where JavaScript keeps it.
func Parse(data []byte) (*Protos, error) {
	doc, err := parseJS(data)
	if err != nil {
		return nil, fmt.Errorf("protos file is not valid JSON: %w", err)
	}
	if doc.kind != jsObject {
		return nil, fmt.Errorf("protos file must be a JSON object of routes, not %s", doc.typeName())
	}
	p := &Protos{}
	for i, route := range doc.obj.keys {
		v := doc.obj.vals[i]
		if v.kind != jsObject {
			return nil, fmt.Errorf("protos file: %q must be a JSON object of fields, not %s", route, v.typeName())
		}
		// Assigning maps["__proto__"] in JavaScript sets the prototype: the
		// route never becomes a property, so it is not a route here either.
		if route == "__proto__" {
			continue
		}
		p.routes.set(route, parseMessage(v))
	}
	for _, m := range p.routes.vals {
		p.resolve(m)
	}
	p.json = p.appendJSON(nil)
	return p, nil
}

// inheritedName reports whether key is a property every JavaScript object
// inherits from Object.prototype. The parser's duplicate-tag test,
// !!tags[tag], finds these on an empty tags object, so a field whose tag is
// one of these strings is always skipped.
func inheritedName(key string) bool {
	switch key {
	case "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty",
		"__lookupGetter__", "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable",
		"toString", "valueOf", "__proto__", "toLocaleString":
		return true
	}
	return false
}

// parseMessage is pomelo-protobuf's parseObject. A value that is not an
// object has no keys that parse as anything (an array's or a string's keys
// are its indexes), so it yields an empty message.
func parseMessage(v jsValue) *message {
	m := &message{byName: make(map[string]*field)}
	var props orderedSet[*field]
	if v.kind == jsObject {
		for i, key := range v.obj.keys {
			val := v.obj.vals[i]
			params := strings.Split(key, " ")
			switch params[0] {
			case "message":
				if len(params) != 2 || params[1] == "__proto__" {
					continue
				}
				m.nested.set(params[1], parseMessage(val))
			case "required", "optional", "repeated":
				if len(params) != 3 {
					continue
				}
				tagKey := jsToString(val)
				if name, ok := m.tags.get(tagKey); (ok && name != "") || inheritedName(tagKey) {
					continue
				}
				f := &field{name: params[2], typ: params[1], tag: val}
				switch params[0] {
				case "optional":
					f.option = optional
				case "repeated":
					f.option = repeated
				}
				m.tags.set(tagKey, f.name)
				m.byName[f.name] = f
				if f.name == "__proto__" {
					f.hidden = true
					continue
				}
				props.set(f.name, f)
			}
		}
	}
	// proto.__messages and proto.__tags are assigned last: a field of either
	// name is replaced, but keeps its place among the keys.
	props.set("__messages", nil)
	props.set("__tags", nil)
	delete(m.byName, "__messages")
	delete(m.byName, "__tags")
	for _, i := range props.jsOrder() {
		f := props.vals[i]
		m.slots = append(m.slots, slot{name: props.keys[i], field: f})
		if f != nil {
			m.fields = append(m.fields, f)
		}
	}
	return m
}

// wireType is pomelo-protobuf's constant.TYPES lookup. Any other type name
// gets wire type 2, except the names every JavaScript object inherits, which
// make TYPES[type] a function or an object, and so wire type 0.
func wireType(typ string) int32 {
	switch typ {
	case "uInt32", "sInt32", "int32":
		return 0
	case "double":
		return 1
	case "float":
		return 5
	}
	if inheritedName(typ) {
		return 0
	}
	return 2
}

// resolve settles, for m and everything nested in it, how each field is
// written: its kind, its message, its encoded tag, and the decode table.
func (p *Protos) resolve(m *message) {
	for _, f := range m.byName {
		f.kind, f.msg = p.kindOf(m, f)
		f.tagNum = jsToInt32(jsToNumber(f.tag))
		wt := wireType(f.typ)
		// JavaScript's (tag << 3) | type works on int32s; pomelo-protobuf
		// cannot write a negative result (its varint writer refuses it).
		if head := int32(uint32(f.tagNum)<<3) | wt; head >= 0 {
			f.head = appendVarint(nil, uint64(head))
		}
	}
	m.byTag = make(map[int32]*field, len(m.tags.keys))
	for i, key := range m.tags.keys {
		n, err := strconv.ParseInt(key, 10, 32)
		if err != nil || strconv.FormatInt(n, 10) != key {
			continue // a key the decoder's String(tag >> 3) can never produce
		}
		if f := m.byName[m.tags.vals[i]]; f != nil {
			m.byTag[int32(n)] = f
		}
	}
	for _, nm := range m.nested.vals {
		p.resolve(nm)
	}
}

// kindOf decides a field's kind as pomelo-protobuf's encoder does: the scalar
// type names first, then a message among m's own definitions, then a root
// "message X" entry. A repeated field of one of util.isSimpleType's names is
// written as a count and elements even where a message of that name exists.
func (p *Protos) kindOf(m *message, f *field) (kind, *message) {
	switch f.typ {
	case "uInt32":
		return kindUInt32, nil
	case "int32", "sInt32":
		return kindSInt32, nil
	case "float":
		return kindFloat, nil
	case "double":
		return kindDouble, nil
	case "string":
		return kindString, nil
	case "uInt64", "sInt64":
		if f.option == repeated {
			return kindInt64, nil
		}
	}
	if nm, ok := m.nested.get(f.typ); ok {
		return kindMessage, nm
	}
	if nm := p.lookup("message " + f.typ); nm != nil {
		return kindMessage, nm
	}
	if f.typ == "uInt64" || f.typ == "sInt64" {
		return kindInt64, nil
	}
	return kindUnknown, nil
}

// appendJSON writes the parsed form as JSON.stringify would.
func (p *Protos) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, route := range p.routes.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsjson.AppendString(dst, route)
		dst = append(dst, ':')
		dst = p.routes.vals[i].appendJSON(dst)
	}
	return append(dst, '}')
}

func (m *message) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, s := range m.slots {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsjson.AppendString(dst, s.name)
		dst = append(dst, ':')
		switch {
		case s.field != nil:
			dst = append(dst, `{"option":`...)
			dst = jsjson.AppendString(dst, s.field.option.String())
			dst = append(dst, `,"type":`...)
			dst = jsjson.AppendString(dst, s.field.typ)
			dst = append(dst, `,"tag":`...)
			dst = appendJSON(dst, s.field.tag)
			dst = append(dst, '}')
		case s.name == "__messages":
			dst = append(dst, '{')
			for j, k := range m.nested.jsOrder() {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = jsjson.AppendString(dst, m.nested.keys[k])
				dst = append(dst, ':')
				dst = m.nested.vals[k].appendJSON(dst)
			}
			dst = append(dst, '}')
		default: // __tags
			dst = append(dst, '{')
			for j, k := range m.tags.jsOrder() {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = jsjson.AppendString(dst, m.tags.keys[k])
				dst = append(dst, ':')
				dst = jsjson.AppendString(dst, m.tags.vals[k])
			}
			dst = append(dst, '}')
		}
	}
	return append(dst, '}')
}
