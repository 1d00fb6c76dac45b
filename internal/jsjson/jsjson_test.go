package jsjson

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`<a href="x">&amp;</a>`, `"<a href=\"x\">&amp;</a>"`},
		{"\b\f\n\r\t\x00\x1f\x7f", `"\b\f\n\r\t\u0000\u001f` + "\x7f\""},
		{"\u2028\u2029\u00e9\U0001f600", "\"\u2028\u2029\u00e9\U0001f600\""},
		{"back\\slash", `"back\\slash"`},
		{"bad \xff byte", "\"bad \ufffd byte\""},
		{"cut \xe2\x82", "\"cut \ufffd\ufffd\""},
	}
	for _, tt := range tests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestIsArrayIndex(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0", true}, {"7", true}, {"10", true}, {"4294967294", true},
		{"4294967295", false}, {"99999999999", false}, {"01", false}, {"-1", false},
		{"1.0", false}, {"", false}, {"1e3", false}, {" 1", false},
	}
	for _, tt := range tests {
		if _, got := ArrayIndex(tt.in); got != tt.want {
			t.Errorf("ArrayIndex(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzString checks the JSON.stringify-style quoting against
// encoding/json's reading of it.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\n\x00\x1f\x7f", "<>&\u2028", "\U0001f600", "\xff\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(q, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s, not valid JSON: %v", s, q, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("AppendString(%q) = %s, reads back as %q", s, q, back)
		}
	})
}

func TestOrder(t *testing.T) {
	keys := []string{"onChat", "10", "b", "2", "01", "4294967295", "0"}
	var got []string
	for _, i := range Order(keys) {
		got = append(got, keys[i])
	}
	// array indexes ascending first ("01" and 2^32-1 are not indexes), then the rest as inserted
	want := "0 2 10 onChat b 01 4294967295"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("Order(%q) = %s, want %s", keys, g, want)
	}
}
