package topology

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the error corpus")

// TestBadTopologies loads every broken topology in testdata/bad and compares the
// errors (messages and positions) with its .golden file. A case may stack a profile
// over its topology: bad/NAME.profile.yaml beside NAME.yaml.
func TestBadTopologies(t *testing.T) {
	files, err := filepath.Glob("../testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".profile.yaml") {
			cases = append(cases, f)
		}
	}
	if len(cases) < 40 {
		t.Errorf("the error corpus has %d cases, want at least 40", len(cases))
	}
	for _, f := range cases {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			opts := testOptions()
			profile := strings.TrimSuffix(f, ".yaml") + ".profile.yaml"
			if _, err := os.Stat(profile); err == nil {
				opts.Profiles = []string{profile}
			}
			_, _, err := Load(f, opts)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("%s: got %v, want an invalid topology", f, err)
			}
			got := list.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./topology -run TestBadTopologies -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s:\ngot:\n%s\nwant:\n%s", f, got, want)
			}
		})
	}
}
