package protocol

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// hx turns "00 7f 03" into bytes, so golden vectors read as hand-computed.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// chatRoutes are chatofpomelo's handler routes, in no particular order.
var chatRoutes = []string{
	"connector.entryHandler.enter",
	"chat.chatHandler.send",
	"gate.gateHandler.queryEntry",
	"chat.chatHandler.echo",
}

// lordRoutes reads lordofpomelo's dictionary.json.
func lordRoutes(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile("../../testdata/pomelo/lordofpomelo/dictionary.json")
	if err != nil {
		tb.Fatal(err)
	}
	var routes []string
	if err := json.Unmarshal(b, &routes); err != nil {
		tb.Fatal(err)
	}
	return routes
}

// chatDict is chatofpomelo's handlers with lordofpomelo's dictionary.json.
func chatDict(tb testing.TB) *Dictionary {
	tb.Helper()
	d, err := NewDictionary(chatRoutes, lordRoutes(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// skipAllocsUnderRace skips a test that counts allocations.
func skipAllocsUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
}
