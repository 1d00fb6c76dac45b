package protocol

import (
	"fmt"
	"strings"
	"testing"
)

// The literals below were computed once with Node 20 running Pomelo 2.2.7's
// dictionary.js algorithm (routes.sort(), dict[route] = abbr, abbrs[abbr] =
// route, md5 base64 of JSON.stringify(dict)) on the same inputs.

func TestDictionaryChatOfPomelo(t *testing.T) {
	d := chatDict(t)
	wantCodes := map[string]uint16{
		"chat.chatHandler.echo": 1, "chat.chatHandler.send": 2, "connector.entryHandler.enter": 3,
		"gate.gateHandler.queryEntry": 4, "onDropItem": 5, "onAttack": 6, "onDied": 7, "onMove": 8,
		"onUpgrage": 9, "onPickItem": 10, "onRevive": 11, "addEntities": 12, "onRemoveEntities": 13,
		"onPathCheckout": 14,
	}
	for route, want := range wantCodes {
		if got, ok := d.Code(route); !ok || got != want {
			t.Errorf("Code(%q) = %d, %v; want %d, true", route, got, ok, want)
		}
		if got, ok := d.Route(want); !ok || got != route {
			t.Errorf("Route(%d) = %q, %v; want %q, true", want, got, ok, route)
		}
	}
	if d.Len() != 14 {
		t.Errorf("Len() = %d, want 14", d.Len())
	}
	checkDict(t, d,
		`{"chat.chatHandler.echo":1,"chat.chatHandler.send":2,"connector.entryHandler.enter":3,"gate.gateHandler.queryEntry":4,"onDropItem":5,"onAttack":6,"onDied":7,"onMove":8,"onUpgrage":9,"onPickItem":10,"onRevive":11,"addEntities":12,"onRemoveEntities":13,"onPathCheckout":14}`,
		`{"1":"chat.chatHandler.echo","2":"chat.chatHandler.send","3":"connector.entryHandler.enter","4":"gate.gateHandler.queryEntry","5":"onDropItem","6":"onAttack","7":"onDied","8":"onMove","9":"onUpgrage","10":"onPickItem","11":"onRevive","12":"addEntities","13":"onRemoveEntities","14":"onPathCheckout"}`,
		"g7Kh+v4GFvT0WwsogaNTFA==")
}

func checkDict(t *testing.T, d *Dictionary, r2c, c2r, version string) {
	t.Helper()
	if got := string(d.RouteToCodeJSON()); got != r2c {
		t.Errorf("RouteToCodeJSON() =\n%s\nwant\n%s", got, r2c)
	}
	if got := string(d.CodeToRouteJSON()); got != c2r {
		t.Errorf("CodeToRouteJSON() =\n%s\nwant\n%s", got, c2r)
	}
	if got := d.Version(); got != version {
		t.Errorf("Version() = %q, want %q", got, version)
	}
}

// Duplicates, integer-like keys, JavaScript escaping and UTF-16 sorting, each
// reproduced as V8 does it.
func TestDictionaryJavaScriptEdges(t *testing.T) {
	handler := []string{"b.h.m", "a.h.m", "\ue000.x", "\U0001f600.y", "a.h.m"}
	user := []string{"onChat", "10", "2", "01", "4294967295", "4294967294", "b.h.m", "<a>&\"\\\u000a\u0001\u007f\u2028\u00e9\U0001f600", "onChat"}
	d, err := NewDictionary(handler, user)
	if err != nil {
		t.Fatal(err)
	}
	checkDict(t, d,
		"{\"2\":8,\"10\":7,\"4294967294\":11,\"a.h.m\":2,\"b.h.m\":12,\"\U0001f600.y\":4,\"\ue000.x\":5,\"onChat\":14,\"01\":9,\"4294967295\":10,\"<a>&\\\"\\\\\\n\\u0001\u007f\u2028\u00e9\U0001f600\":13}",
		"{\"1\":\"a.h.m\",\"2\":\"a.h.m\",\"3\":\"b.h.m\",\"4\":\"\U0001f600.y\",\"5\":\"\ue000.x\",\"6\":\"onChat\",\"7\":\"10\",\"8\":\"2\",\"9\":\"01\",\"10\":\"4294967295\",\"11\":\"4294967294\",\"12\":\"b.h.m\",\"13\":\"<a>&\\\"\\\\\\n\\u0001\u007f\u2028\u00e9\U0001f600\",\"14\":\"onChat\"}",
		"aoj+9F81K0evjzSoAdpSFA==")
	// A duplicate takes the later code; every code still decodes.
	for _, tt := range []struct {
		route string
		code  uint16
	}{{"a.h.m", 2}, {"b.h.m", 12}, {"onChat", 14}} {
		if got, _ := d.Code(tt.route); got != tt.code {
			t.Errorf("Code(%q) = %d, want %d (the later code, as JS assigns)", tt.route, got, tt.code)
		}
	}
	for code, route := range map[uint16]string{1: "a.h.m", 2: "a.h.m", 3: "b.h.m", 12: "b.h.m", 6: "onChat", 14: "onChat"} {
		if got, ok := d.Route(code); !ok || got != route {
			t.Errorf("Route(%d) = %q, %v; want %q", code, got, ok, route)
		}
	}
}

func TestDictionaryEmpty(t *testing.T) {
	for _, d := range []*Dictionary{mustDict(t, nil, nil), mustDict(t, []string{}, []string{})} {
		checkDict(t, d, "{}", "{}", "mZFLkyvTelC5g8XnyQrpOw==")
		if _, ok := d.Route(0); ok {
			t.Errorf("Route(0) found a route in an empty dictionary")
		}
	}
}

func mustDict(t *testing.T, h, u []string) *Dictionary {
	t.Helper()
	d, err := NewDictionary(h, u)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDictionaryLimits(t *testing.T) {
	routes := make([]string, maxRoutes)
	for i := range routes {
		routes[i] = fmt.Sprintf("s.h.m%05d", i)
	}
	d, err := NewDictionary(routes[:maxRoutes-1], []string{"onLast"})
	if err != nil {
		t.Fatalf("NewDictionary(65535 routes): %v", err)
	}
	if c, ok := d.Code("onLast"); !ok || c != 0xffff {
		t.Errorf("Code(onLast) = %d, %v; want 65535", c, ok)
	}
	if r, ok := d.Route(0xffff); !ok || r != "onLast" {
		t.Errorf("Route(65535) = %q, %v; want onLast", r, ok)
	}
	if _, err := NewDictionary(routes, []string{"onOneTooMany"}); err == nil || !strings.Contains(err.Error(), "65535") {
		t.Errorf("NewDictionary(65536 routes) error = %v, want one naming the 65535 limit", err)
	}
}

func TestDictionaryBadRoutes(t *testing.T) {
	tests := []struct {
		h, u []string
		want string
	}{
		{[]string{"a.b.\xff"}, nil, "handler route"},
		{nil, []string{"on\xc3"}, "dictionary.json route"},
		{nil, []string{"__proto__"}, "JavaScript object"},
	}
	for _, tt := range tests {
		if _, err := NewDictionary(tt.h, tt.u); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewDictionary(%q, %q) error = %v, want one saying %q", tt.h, tt.u, err, tt.want)
		}
	}
}

func TestDictionaryNilAndCopies(t *testing.T) {
	var nilDict *Dictionary
	if _, ok := nilDict.Code("a"); ok {
		t.Errorf("nil Dictionary Code found a route")
	}
	if _, ok := nilDict.Route(1); ok {
		t.Errorf("nil Dictionary Route found a route")
	}
	d := chatDict(t)
	j := d.RouteToCodeJSON()
	j[0] = 'X'
	if d.RouteToCodeJSON()[0] != '{' {
		t.Errorf("RouteToCodeJSON returned the dictionary's own buffer: changing it changed the dictionary")
	}
	input := []string{"b.x.y", "a.x.y"}
	mustDict(t, input, nil)
	if input[0] != "b.x.y" {
		t.Errorf("NewDictionary sorted the caller's slice: %q", input)
	}
}

func TestCompareUTF16(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"a", "b", -1}, {"b", "a", 1}, {"a", "a", 0}, {"a", "ab", -1},
		{"\U0001f600", "\ue000", -1}, // surrogate D83D < E000, though U+1F600 > U+E000
		{"\U0001f600", "\U0001f601", -1},
		{"\u00e9", "\U0001f600", -1},
	}
	for _, tt := range tests {
		got := compareUTF16(tt.a, tt.b)
		if (got < 0) != (tt.want < 0) || (got > 0) != (tt.want > 0) {
			t.Errorf("compareUTF16(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}
