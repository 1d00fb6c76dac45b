package spell

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"clientPort", "clientHost", "port", "maxRestarts", "session", "uid", "id"}
	for _, tc := range []struct{ in, want string }{
		{"clientport", "clientPort"},
		{"max-restarts", "maxRestarts"},
		{"maxRestart", "maxRestarts"},
		{"sesion", "session"},
		{"uidd", "uid"},
		{"ids", "id"},
		{"port", ""},       // already right
		{"frobnicate", ""}, // nothing near
		{"x", ""},
	} {
		if got := Closest(tc.in, names); got != tc.want {
			t.Errorf("Closest(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"kitten", "sitting", 3}, {"房间", "房", 1}, {"abc", "", 3}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
