package protobuf

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// A client that reads the server's protos from the handshake must end up with
// the same protos: the same parsed form, and the same bytes on the wire.
func TestParseJSONRoundTrip(t *testing.T) {
	for name, text := range readProtosFiles(t) {
		if name == "quirks" {
			// Its fields named __messages and __tags, and an Infinity tag,
			// do not survive the parsed form's JSON: a JavaScript client
			// loses them the same way.
			continue
		}
		p := mustParse(t, text)
		q, err := ParseJSON(p.JSON())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(q.JSON(), p.JSON()) {
			t.Errorf("%s: parsed form changed:\n got %s\nwant %s", name, q.JSON(), p.JSON())
		}
	}
	p := mustParse(t, readProtosFiles(t)["lord/server"])
	q, err := ParseJSON(p.JSON())
	if err != nil {
		t.Fatal(err)
	}
	msg := map[string]any{"attacker": 1.0, "target": 2.0, "result": map[string]any{"result": 1.0, "damage": 30.0, "exp": 5.0}, "skillId": 3.0, "reason": "hit"}
	a, errA := p.Encode("onAttack", msg)
	b, errB := q.Encode("onAttack", msg)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Fatalf("onAttack encodes differently: %x (%v) and %x (%v)", a, errA, b, errB)
	}
	want, _ := p.Decode("onAttack", a)
	got, err := q.Decode("onAttack", a)
	if err != nil || !reflect.DeepEqual(got, want) || got["skillId"] != 3.0 {
		t.Errorf("decode: %v, %v; want %v", got, err, want)
	}
}

func TestParseJSONRefusesWhatIsNotProtos(t *testing.T) {
	for _, bad := range []string{`[]`, `{"onChat":[]}`, `{"onChat":{"msg":"required string"}}`, `{"onChat":{"__messages":[]}}`, `not json`} {
		if _, err := ParseJSON([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "protos:") {
			t.Errorf("%s: got %v, want an error that starts with protos:", bad, err)
		}
	}
}
