package connector

import (
	"sync"
	"testing"
)

// TestSettingsJSON: the encoding is kept until a Set changes the settings.
func TestSettingsJSON(t *testing.T) {
	s := &Session{}
	if b, err := s.SettingsJSON(); b != nil || err != nil {
		t.Errorf("no settings: %s %v", b, err)
	}
	s.Set("rid", "lobby")
	first, err := s.SettingsJSON()
	if string(first) != `{"rid":"lobby"}` || err != nil {
		t.Errorf("one setting: %s %v", first, err)
	}
	if again, _ := s.SettingsJSON(); &again[0] != &first[0] {
		t.Error("encoded again without a Set")
	}
	s.Set("rid", "hall")
	if b, _ := s.SettingsJSON(); string(b) != `{"rid":"hall"}` {
		t.Errorf("after a Set: %s", b)
	}
	s.Set("bad", make(chan int))
	if _, err := s.SettingsJSON(); err == nil {
		t.Error("a setting JSON cannot encode: no error")
	}
	// Concurrent Sets and encodings (go test -race).
	s = &Session{}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				s.Set("n", i*j)
				if b, err := s.SettingsJSON(); len(b) == 0 || err != nil {
					t.Errorf("%s %v", b, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
