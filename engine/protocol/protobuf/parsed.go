package protobuf

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ParseJSON reads protos in the parsed form a handshake carries them in (the
// handshake's sys.protos.server or .client, which JSON writes of
// pomelo-protobuf's parse result):
//
//	{"onChat":{"msg":{"option":"required","type":"string","tag":1},"__messages":{},"__tags":{"1":"msg"}}}
//
// It is what a client does with a server's handshake: the result encodes and
// decodes as the server's own Protos do.
func ParseJSON(data []byte) (*Protos, error) {
	routes, err := readObject(data)
	if err != nil {
		return nil, fmt.Errorf("protos: %w", err)
	}
	src := []byte{'{'}
	for i, r := range routes {
		if i > 0 {
			src = append(src, ',')
		}
		src = appendKey(src, r.key)
		if src, err = appendSourceMessage(src, r.value, 0); err != nil {
			return nil, fmt.Errorf("protos: %s: %w", r.key, err)
		}
	}
	return Parse(append(src, '}'))
}

// appendSourceMessage writes one parsed message back in the file's form:
// {"required string msg":1,"message Inner":{…}}.
func appendSourceMessage(dst, parsed []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("messages nest more than %d deep", maxDepth)
	}
	fields, err := readObject(parsed)
	if err != nil {
		return nil, err
	}
	dst = append(dst, '{')
	first := true
	comma := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	for _, f := range fields {
		switch f.key {
		case "__tags":
		case "__messages":
			nested, err := readObject(f.value)
			if err != nil {
				return nil, fmt.Errorf("__messages: %w", err)
			}
			for _, n := range nested {
				comma()
				dst = appendKey(dst, "message "+n.key)
				if dst, err = appendSourceMessage(dst, n.value, depth+1); err != nil {
					return nil, fmt.Errorf("%s: %w", n.key, err)
				}
			}
		default:
			var field struct {
				Option string          `json:"option"`
				Type   string          `json:"type"`
				Tag    json.RawMessage `json:"tag"`
			}
			if err := json.Unmarshal(f.value, &field); err != nil || field.Tag == nil {
				return nil, fmt.Errorf("field %s is not {option, type, tag}", f.key)
			}
			comma()
			dst = appendKey(dst, field.Option+" "+field.Type+" "+f.key)
			dst = append(dst, field.Tag...)
		}
	}
	return append(dst, '}'), nil
}

type keyValue struct {
	key   string
	value json.RawMessage
}

// readObject reads a JSON object's members in their order, which a map
// would lose (pomelo-protobuf's parser keeps the first field of a tag).
func readObject(data []byte) ([]keyValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []keyValue
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, keyValue{key: t.(string), value: v})
	}
	return out, nil
}

func appendKey(dst []byte, key string) []byte {
	b, _ := json.Marshal(key)
	return append(append(dst, b...), ':')
}
