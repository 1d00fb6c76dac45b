package protobuf

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
)

// normalize brings a Go value to the shapes encoding/json decodes into (nil,
// bool, string, a number, map[string]any, []any), one level at a time, so
// that handlers may pass their own maps, slices and structs. The common
// shapes pass through untouched; slices and string-keyed maps are walked
// with reflect; anything else takes a trip through encoding/json, which
// honours its json tags and Marshal methods.
func normalize(v any) (any, error) {
	switch v.(type) {
	case nil, bool, string, float64, json.Number, map[string]any, []any,
		float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return v, nil
	case json.Marshaler, encoding.TextMarshaler:
		return viaJSON(v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface())
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil // encoding/json's null
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return viaJSON(v) // a base64 string, as encoding/json writes bytes
		}
		list := make([]any, rv.Len())
		for i := range list {
			list[i] = rv.Index(i).Interface()
		}
		return list, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return viaJSON(v)
		}
		if rv.IsNil() {
			return nil, nil
		}
		obj := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			obj[it.Key().String()] = it.Value().Interface()
		}
		return obj, nil
	}
	return viaJSON(v)
}

// viaJSON is the fallback: marshal v and decode it back, keeping numbers
// exact as json.Number.
func viaJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot turn a %T into JSON: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("cannot read back the JSON of a %T: %w", v, err)
	}
	return out, nil
}

// numberOf returns a normalized value as a float64, which is what
// pomelo-protobuf's numbers are.
func numberOf(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		return f, err == nil
	}
	return 0, false
}

// describe names a normalized value's JSON type for an error message.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		if len(t) > 40 {
			t = t[:40] + "..."
		}
		return "the string " + strconv.Quote(t)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case json.Number:
		return "the number " + string(t)
	}
	if f, ok := numberOf(v); ok {
		return "the number " + string(appendJSNumber(nil, f))
	}
	return fmt.Sprintf("a %T", v)
}
