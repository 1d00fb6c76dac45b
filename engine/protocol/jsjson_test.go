package protocol

import "testing"

func TestAppendJSString(t *testing.T) {
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
		if got := string(appendJSString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSString(%q) = %s, want %s", tt.in, got, tt.want)
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
		if _, got := isArrayIndex(tt.in); got != tt.want {
			t.Errorf("isArrayIndex(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestJSFalsy(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true}, {"null", true}, {" null\n", true}, {"false", true}, {`""`, true},
		{"0", true}, {"-0", true}, {"0.0", true}, {"0e5", true}, {"-0.00E-3", true},
		{"{}", false}, {"[]", false}, {"true", false}, {`"0"`, false}, {"1", false},
		{"0.1", false}, {"10", false}, {"1e0", false}, {`{"uid":1}`, false},
	}
	for _, tt := range tests {
		if got := jsFalsy([]byte(tt.in)); got != tt.want {
			t.Errorf("jsFalsy(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
