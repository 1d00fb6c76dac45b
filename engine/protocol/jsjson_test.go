package protocol

import "testing"

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
