package scripting

import (
	"testing"

	"github.com/expr-lang/expr"
)

// The expected values come from zlib.crc32 in Python, not from hash/crc32, so
// that they check Crc32 rather than restate it.
var crc32Cases = []struct {
	in   string
	want int
}{
	{"", 0},
	{"123456789", 3421780262}, // 0xCBF43926, the CRC-32 check value
	{"a", 3904355907},
	{"alice", 663665735},
	{"bob", 4123767104}, // above 1<<31: stays positive
	{"The quick brown fox jumps over the lazy dog", 1095738169},
	{"房间", 3781655748}, // UTF-8 bytes
}

func TestCrc32(t *testing.T) {
	for _, tc := range crc32Cases {
		if got := Crc32(tc.in); got != tc.want {
			t.Errorf("Crc32(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestFunctions runs the functions through expr, where their types meet the
// checker's and the VM's.
func TestFunctions(t *testing.T) {
	env := RouterEnv{Session: NewSession(7, "alice", "", map[string]any{"rid": 12.0, "zone": nil})}
	type row struct {
		src  string
		want any
	}
	rows := []row{
		{`str(session.id)`, "7"},
		{`str(session.get("rid"))`, "12"}, // a JSON number
		{`str("x")`, "x"},
		{`str(session.get("zone"))`, "<nil>"},
	}
	for _, tc := range crc32Cases {
		rows = append(rows, row{`crc32("` + tc.in + `")`, tc.want})
	}
	for _, tc := range rows {
		t.Run(tc.src, func(t *testing.T) {
			program, err := expr.Compile(tc.src, compileOptions(RouterEnv{}, functions())...)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.src, err)
			}
			got, err := expr.Run(program, &env)
			if err != nil || got != tc.want {
				t.Errorf("%s = %#v, %v; want %#v", tc.src, got, err, tc.want)
			}
		})
	}
}
