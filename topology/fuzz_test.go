package topology

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds the loader arbitrary files: it must answer with a topology or an
// error, never panic or hang. The seed corpus is every topology in the repository.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/bad/*.yaml")
	good, _ := filepath.Glob("../examples/*/topology.yaml")
	for _, p := range append(seeds, good...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("servers: {a: {cluster: {count: 2147483647, port: \"1++\"}}}"))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("servers: {c: {<<: [{frontend: true}], instances: [{id: c, clientPort: 1}]}}"))
	opts := testOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		top, _, err := LoadBytes("fuzz.yaml", data, opts)
		var list ErrorList
		switch {
		case err == nil && top == nil:
			t.Fatal("no topology and no error")
		case err != nil && !errors.As(err, &list):
			t.Fatalf("a failure that is not an ErrorList: %v", err)
		case err != nil && len(list) == 0:
			t.Fatal("an empty ErrorList as an error")
		}
	})
}
