package pomelo

import (
	"fmt"
	"strings"
	"testing"
)

// render shows a parsed value with the position of every value and key, so that a
// test states the whole tree in one string.
func render(v *value) string {
	at := fmt.Sprintf("@%d:%d", v.pos.Line, v.pos.Col)
	switch v.kind {
	case stringKind:
		return fmt.Sprintf("%q%s", v.text, at)
	case arrayKind:
		parts := make([]string, len(v.items))
		for i, item := range v.items {
			parts[i] = render(item)
		}
		return "[" + strings.Join(parts, " ") + "]" + at
	case objectKind:
		parts := make([]string, len(v.members))
		for i, m := range v.members {
			parts[i] = fmt.Sprintf("%q@%d:%d=%s", m.key, m.keyPos.Line, m.keyPos.Col, render(m.val))
		}
		return "{" + strings.Join(parts, " ") + "}" + at
	}
	return v.text + at
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"scalars", `[1, -2.5e3, true, false, null, "x"]`, `[1@1:2 -2.5e3@1:5 true@1:13 false@1:19 null@1:26 "x"@1:32]@1:1`},
		{"key order kept", `{"b": 1, "a": 2, "c": 3}`, `{"b"@1:2=1@1:7 "a"@1:10=2@1:15 "c"@1:18=3@1:23}@1:1`},
		{"lines and tabs", "{\n\t\"a\": [\n\t\t{}\n\t]\n}", `{"a"@2:2=[{}@3:3]@2:7}@1:1`},
		{"CRLF", "{\r\n  \"a\": 1\r\n}", `{"a"@2:3=1@2:8}@1:1`},
		{"columns count characters", `{"été": "ü", "k": 1}`, `{"été"@1:2="ü"@1:9 "k"@1:14=1@1:19}@1:1`},
		{"escapes", `["\u00e9\"\\\/\b\f\n\r\t"]`, `["é\"\\/\b\f\n\r\t"@1:2]@1:1`},
		{"surrogate pair", `"\ud83d\ude00"`, `"😀"@1:1`},
		{"lone surrogate", `"\ud83d."`, "\"\uFFFD.\"@1:1"},
		{"invalid UTF-8", "\"a\xffb\"", "\"a\uFFFDb\"@1:1"},
		{"byte-order mark", "\uFEFF{\"a\": 1}", `{"a"@1:2=1@1:7}@1:1`},
		{"numbers", `[0, -0, 0.5, 1E+2, 1e-2, 12345678901234567890]`, `[0@1:2 -0@1:5 0.5@1:9 1E+2@1:14 1e-2@1:20 12345678901234567890@1:26]@1:1`},
		{"nested", `{"a": {"b": [[], {}]}}`, `{"a"@1:2={"b"@1:8=[[]@1:14 {}@1:18]@1:13}@1:7}@1:1`},
		{"duplicate key keeps the later value in the first place", `{"a": 1, "b": 2, "a": 3}`, `{"a"@1:18=3@1:23 "b"@1:10=2@1:15}@1:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, err := parseJSON("f.json", []byte(tt.in))
			if err != nil {
				t.Fatalf("parse %q: %v", tt.in, err)
			}
			if got := render(v); got != tt.want {
				t.Errorf("parse %q:\ngot  %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseJSONDuplicateWarning(t *testing.T) {
	_, warns, err := parseJSON("f.json", []byte("{\"a\": 1,\n \"a\": 2}"))
	if err != nil {
		t.Fatal(err)
	}
	want := `f.json:2:2: warning: "a" is written twice in this object (first at 1:2): JSON.parse, and so Pomelo, keeps this later value`
	if len(warns) != 1 || warns[0].String() != want {
		t.Errorf("warnings:\ngot  %v\nwant [%s]", warns, want)
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", " \n ", `f.json: JSON syntax: the file is empty; a Pomelo config file holds one JSON object or array`},
		{"missing comma between members", "{\"a\": [1]\n \"b\": 2}",
			`f.json:2:2: JSON syntax: expected ',' or '}' after the member "a" that ends at 1:9, found "b"; a comma is missing after 1:9`},
		{"missing comma between elements", `[1 2]`,
			`f.json:1:4: JSON syntax: expected ',' or ']' after element 1 that ends at 1:2, found the number 2; a comma is missing after 1:2`},
		{"wrong closer", `{"a": 1]`,
			`f.json:1:8: JSON syntax: expected ',' or '}' after the member "a" that ends at 1:7, found ']'; the object opened at 1:1 is closed with ']'`},
		{"trailing comma in object", "{\"a\": 1,\n}", `f.json:1:8: JSON syntax: a comma after the last member of an object; remove it: JSON allows no trailing comma`},
		{"trailing comma in array", `[1, 2, ]`, `f.json:1:6: JSON syntax: a comma after the last element of an array; remove it: JSON allows no trailing comma`},
		{"unclosed object", "{\"a\": {\"b\": 1}", `f.json:1:15: JSON syntax: the file ends before the object opened at 1:1 is closed; close it with }`},
		{"unclosed string", "{\"a\": \"b\n}", `f.json:1:9: JSON syntax: the string that starts at 1:7 is not closed on its line; close it with "; a JSON string cannot span lines (write \n for a line break)`},
		{"string at end of file", `"abc`, `f.json:1:5: JSON syntax: the file ends inside the string that starts at 1:1; close it with "`},
		{"tab in string", "\"a\tb\"", `f.json:1:3: JSON syntax: a control character (U+0009) inside a string; escape it, e.g. \t for a tab or \u00XX`},
		{"bad escape", `"a\x"`, `f.json:1:3: JSON syntax: \x is not a JSON escape; JSON escapes are \" \\ \/ \b \f \n \r \t and \uXXXX; write \\ for a backslash`},
		{"short unicode escape", `"\u12"`, `f.json:1:2: JSON syntax: \u must be followed by four hexadecimal digits; write e.g. \u00e9 for é`},
		{"unquoted key", `{id: 1}`, `f.json:1:2: JSON syntax: expected a key in double quotes, found the word id; write "id"`},
		{"single quotes", `['a']`, `f.json:1:2: JSON syntax: expected a value, found '''; JSON strings are written in double quotes`},
		{"comment", "{\n  // servers\n}", `f.json:2:3: JSON syntax: expected a key in double quotes, found '/'; JSON has no comments: remove it`},
		{"missing colon", `{"a" 1}`, `f.json:1:6: JSON syntax: expected ':' after the key "a", found the number 1; write "key": value`},
		{"leading zero", `[0123]`, `f.json:1:2: JSON syntax: 0123 is not a JSON number; write a number such as 12, -3.5 or 1e3 (no leading zeros), or a string in double quotes`},
		{"fraction without digits", `[1.]`, `f.json:1:2: JSON syntax: 1. is not a JSON number; write a number such as 12, -3.5 or 1e3 (no leading zeros), or a string in double quotes`},
		{"number and letters", `[12px]`, `f.json:1:2: JSON syntax: 12px is not a JSON number; write a number such as 12, -3.5 or 1e3 (no leading zeros), or a string in double quotes`},
		{"capital literal", `[True]`, `f.json:1:2: JSON syntax: expected a value, found the word True; JSON's literals are lowercase: true`},
		{"NaN", `[NaN]`, `f.json:1:2: JSON syntax: expected a value, found the word NaN; JSON has no NaN, Infinity or undefined`},
		{"two values", "{}\n{}", `f.json:2:1: JSON syntax: found '{' after the end of the JSON value at 1:2; a file holds one JSON value: join the values in one object or array, or remove what follows`},
		{"extra comma", `[1,,2]`, `f.json:1:4: JSON syntax: expected a value, found ','; an empty element: remove the extra comma`},
		{"control character", "[\x01]", `f.json:1:2: JSON syntax: expected a value, found the control character U+0001`},
		{"position after multibyte", `{"é": x}`, `f.json:1:7: JSON syntax: expected a value, found the word x; write strings in double quotes: "x"`},
		{"too deep", strings.Repeat("[", maxDepth+1), fmt.Sprintf(`f.json:1:%d: JSON syntax: nested deeper than 200 levels`, maxDepth+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseJSON("f.json", []byte(tt.in))
			if err == nil {
				t.Fatalf("parse %q: no error, want %s", tt.in, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("parse %q:\ngot  %s\nwant %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseJSONDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, _, err := parseJSON("f.json", []byte(deep)); err != nil {
		t.Errorf("%d levels: %v, want accepted", maxDepth, err)
	}
	// Far beyond the limit: refused early, without using the stack it describes.
	hostile := strings.Repeat(`{"a":`, 1_000_000)
	if _, _, err := parseJSON("f.json", []byte(hostile)); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("a million levels: got %v, want the depth error", err)
	}
}

func TestValueConversions(t *testing.T) {
	tests := []struct {
		in       string
		wantInt  int
		intOK    bool
		wantBool bool
		boolOK   bool
	}{
		{`3150`, 3150, true, false, false},
		{`"3150"`, 3150, true, false, false},
		{`3150.0`, 3150, true, false, false},
		{`1e3`, 1000, true, false, false},
		{`3150.5`, 0, false, false, false},
		{`"3150++"`, 0, false, false, false},
		{`9007199254740993`, 0, false, false, false},
		{`true`, 0, false, true, true},
		{`"false"`, 0, false, false, true},
		{`"yes"`, 0, false, false, false},
		{`null`, 0, false, false, false},
	}
	for _, tt := range tests {
		v, _, err := parseJSON("f.json", []byte(tt.in))
		if err != nil {
			t.Fatalf("parse %s: %v", tt.in, err)
		}
		if n, ok := v.integer(); n != tt.wantInt || ok != tt.intOK {
			t.Errorf("integer(%s): got %d, %t; want %d, %t", tt.in, n, ok, tt.wantInt, tt.intOK)
		}
		if b, ok := v.boolean(); b != tt.wantBool || ok != tt.boolOK {
			t.Errorf("boolean(%s): got %t, %t; want %t, %t", tt.in, b, ok, tt.wantBool, tt.boolOK)
		}
	}
}
