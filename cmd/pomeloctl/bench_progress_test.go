package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/pomeloctl/pomeloctl/engine/bench"
)

// play tells p of a phase sampled every 200 ms until it has run for d, then
// ends it: what engine/bench does, without the wait.
func play(p bench.Progress, s bench.Status, d time.Duration) {
	for e := 200 * time.Millisecond; e < d; e += 200 * time.Millisecond {
		s.Elapsed, s.Done = e, int64(e/time.Millisecond)
		p.Update(s)
	}
	s.Elapsed, s.Done = d, int64(d/time.Millisecond)
	p.End(s)
}

// TestLineProgress: off a terminal, progress is a few whole lines, each second
// for a short phase and every 5 s for a long one, with no carriage return or
// escape code for a log to choke on.
func TestLineProgress(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     bench.Status
		run   time.Duration
		lines []string
	}{
		{"short timed phase: a line a second", bench.Status{Phase: "echo", Unit: "req", Total: 3 * time.Second}, 3 * time.Second, []string{
			"echo: 1.0s of 3s, 1000 req, 1000 req/s, 0 errors",
			"echo: 2.0s of 3s, 2000 req, 1000 req/s, 0 errors",
			"echo: done in 3.0s: 3000 req, 1000 req/s, 0 errors",
		}},
		{"long timed phase: every 5 s", bench.Status{Phase: "fanout", Unit: "pushes", Total: 12 * time.Second}, 13 * time.Second, []string{
			"fanout: 5.0s of 12s, 5000 pushes, 1000 pushes/s, 0 errors",
			"fanout: 10.0s of 12s, 10000 pushes, 1000 pushes/s, 0 errors",
			"fanout: done in 13.0s: 13000 pushes, 1000 pushes/s, 0 errors",
		}},
		{"counted phase", bench.Status{Phase: "connect", Unit: "logins", Of: 6000, Errors: 2}, 6 * time.Second, []string{
			"connect: 5000 of 6000 logins in 5.0s, 1000 logins/s, 2 errors",
			"connect: done in 6.0s: 6000 of 6000 logins, 1000 logins/s, 2 errors",
		}},
		{"a wait", bench.Status{Phase: "idle hold", Total: 2 * time.Second}, 2 * time.Second, []string{
			"idle hold: 1.0s of 2s",
			"idle hold: done in 2.0s",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := benchProgress(&out)
			play(p, tc.s, tc.run)
			play(p, tc.s, tc.run) // a second phase starts its count again
			want := strings.Repeat(strings.Join(tc.lines, "\n")+"\n", 2)
			if out.String() != want {
				t.Errorf("%+v for %s: got\n%s\nwant\n%s", tc.s, tc.run, out.String(), want)
			}
		})
	}
}

// TestBarProgress: on a terminal, one line redrawn in place with the bar, the
// time and the figures, never wider than the terminal; at the end it is
// cleared and the phase's last figures stay as a line.
func TestBarProgress(t *testing.T) {
	s := bench.Status{Phase: "echo", Unit: "req", Total: 10 * time.Second, Elapsed: 5 * time.Second, Done: 20000, Errors: 3}
	for _, tc := range []struct {
		width   int
		profile termenv.Profile
		want    []string
	}{
		{120, termenv.Ascii, []string{"echo ", "██████", "░░░░░░", " 50%", "5.0s of 10s, 20000 req, 4000 req/s, 3 errors"}},
		{120, termenv.ANSI256, []string{"\x1b[", "█", " 50%", "3 errors"}},
		{50, termenv.Ascii, []string{"echo ███", "░", " 50%", "…"}},
	} {
		var out bytes.Buffer
		b := newBarProgress(&out, tc.width, tc.profile)
		b.Update(s)
		got := out.String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("width %d, profile %v: got %q, want it to contain %q", tc.width, tc.profile, got, w)
			}
		}
		if !strings.HasPrefix(got, "\r") || !strings.HasSuffix(got, ansi.EraseLineRight) || strings.Contains(got, "\n") {
			t.Errorf("width %d: %q is not one line redrawn in place", tc.width, got)
		}
		if w := ansi.StringWidth(got); w >= tc.width {
			t.Errorf("width %d: the line is %d wide and would wrap: %q", tc.width, w, got)
		}
		out.Reset()
		b.End(s)
		if want := "\r" + ansi.EraseLineRight + "echo: done in 5.0s: 20000 req, 4000 req/s, 3 errors\n"; out.String() != want {
			t.Errorf("end: got %q, want %q", out.String(), want)
		}
	}
}

// TestBenchProgressOffATerminal: a buffer or a file gets plain lines, and
// `bench -o json` keeps standard output to the JSON while its progress goes to
// standard error.
func TestBenchProgressOffATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []any{&bytes.Buffer{}, f} {
		if p, ok := benchProgress(w.(interface{ Write([]byte) (int, error) })).(*lineProgress); !ok {
			t.Errorf("progress on a %T is a %T, want plain lines", w, p)
		}
	}

	code, out, errOut := pomeloctl(t, "bench", "echo", "--clients", "2", "--duration", "1500ms", "-o", "json")
	var res []bench.EchoResult
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || len(res) != 1 || res[0].Requests == 0 {
		t.Fatalf("bench echo -o json: exit %d, %v; stdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	if !strings.Contains(errOut, "echo: 1.0s of 1.5s, ") || !strings.Contains(errOut, "echo: done in 1.5s: ") {
		t.Errorf("stderr lacks the progress lines:\n%s", errOut)
	}
	if strings.ContainsAny(errOut, "\r\x1b") || !strings.HasSuffix(errOut, "\n") {
		t.Errorf("stderr off a terminal has a carriage return or an escape code, or an unfinished line: %q", errOut)
	}
}
