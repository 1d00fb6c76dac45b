package protobuf

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

// protosFiles are the protos files the interop tests read, by short name:
// the real ones from Pomelo's demos and this package's own.
var protosFiles = map[string]string{
	"chat/server": "../../../testdata/pomelo/chatofpomelo-websocket/serverProtos.json",
	"chat/client": "../../../testdata/pomelo/chatofpomelo-websocket/clientProtos.json",
	"lord/server": "../../../testdata/pomelo/lordofpomelo/serverProtos.json",
	"lord/client": "../../../testdata/pomelo/lordofpomelo/clientProtos.json",
	"types":       "testdata/types.json",
	"quirks":      "testdata/quirks.json",
}

func readProtosFiles(t *testing.T) map[string]string {
	t.Helper()
	texts := make(map[string]string)
	for name, file := range protosFiles {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = string(b)
	}
	return texts
}

func mustParse(t testing.TB, text string) *Protos {
	t.Helper()
	p, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// decodeMsg turns a test message's JSON text into what a handler would pass.
func decodeMsg(t testing.TB, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("bad test message %s: %v", text, err)
	}
	return m
}

// sameJSON compares a decoded message with JSON text as values, the way
// JSON.parse would see both.
func sameJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want is not JSON: %v: %s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, b, want)
	}
}

func hexOf(r jsResult) string {
	if r.Hex == nil {
		return ""
	}
	return *r.Hex
}

// encodeCase is a message our encoder and pomelo-protobuf's must write
// identically. msg lists its keys in the proto's declaration order.
type encodeCase struct {
	name, protos, route, msg string
	// inexact marks a message that does not decode back to itself: a float
	// that is not a float32, a fraction in an integer field.
	inexact bool
	// astral marks strings outside the BMP, which the browser build of
	// pomelo-protobuf cannot decode.
	astral bool
	// nodeThrows marks a message pomelo-protobuf 0.4.0 fails to encode
	// although it is valid; we encode it and check it reads back.
	nodeThrows bool
	// undecodable marks a message whose bytes neither decoder accepts (its
	// proto has tags the decoders cannot look up).
	undecodable bool
	// decoded is what the bytes decode to, when that is not msg without its
	// empty arrays (which are not written).
	decoded string
}

var encodeCases = []encodeCase{
	{name: "chat", protos: "chat/server", route: "onChat",
		msg: `{"msg":"hello","from":"alice","target":"*"}`},
	{name: "chat unicode", protos: "chat/server", route: "onChat",
		msg: `{"msg":"héllo wörld ✓ 中文 \u2028 \"q\" \\ \n\t \u0000 \u007f","from":"bøb","target":"alice*room1"}`},
	{name: "chat astral", protos: "chat/server", route: "onChat", astral: true,
		msg: `{"msg":"emoji 😀 and 𝄞","from":"c","target":"*"}`},
	{name: "chat empty strings", protos: "chat/server", route: "onChat",
		msg: `{"msg":"","from":"","target":""}`},
	{name: "chat long", protos: "chat/server", route: "onChat",
		msg: `{"msg":"` + strings.Repeat("long message ", 40) + `","from":"x","target":"*"}`},
	{name: "onMove", protos: "lord/server", route: "onMove",
		msg: `{"entityId":12,"path":[{"x":100,"y":200},{"x":130,"y":4000000000},{"x":0,"y":127}],"speed":160}`},
	{name: "onMove empty path", protos: "lord/server", route: "onMove",
		msg: `{"entityId":1,"path":[],"speed":0}`},
	{name: "onAttack", protos: "lord/server", route: "onAttack",
		msg: `{"attacker":1,"target":2,"result":{"result":1,"damage":250,"items":[` +
			`{"kindId":3,"x":10,"y":20,"entityId":30,"playerId":40,"type":"equipment"},` +
			`{"kindId":4,"x":11,"y":21,"entityId":31,"playerId":41,"type":"item"}]},"exp":1000,"reviveTime":5000,"skillId":7}`},
	{name: "onAttack optional absent", protos: "lord/server", route: "onAttack",
		msg: `{"attacker":1,"target":2,"result":{"result":0,"damage":0},"skillId":1}`},
	{name: "onAddEntities", protos: "lord/server", route: "onAddEntities",
		msg: `{"npc":[{"entityId":1,"kindId":2,"x":3,"y":4}],` +
			`"mob":[{"entityId":5,"kindId":6,"x":7,"y":8,"level":9,"walkSpeed":10,"hp":11,"maxHp":12},{"entityId":13,"kindId":14,"x":15,"y":16,"level":17,"walkSpeed":18,"hp":19,"maxHp":20}],` +
			`"item":[{"entityId":21,"kindId":22,"x":23,"y":24,"playerId":25}],` +
			`"euipment":[{"entityId":26,"kindId":27,"x":28,"y":29,"playerId":30}],` +
			`"player":[{"entityId":31,"kindId":32,"x":33,"y":34,"level":35,"walkSpeed":36,"hp":37,"maxHp":38,"mp":39,"maxMp":40,"id":41,"name":"玩家一","teamId":42,"isCaptain":1},` +
			`{"entityId":43,"kindId":44,"x":45,"y":46,"level":47,"walkSpeed":48,"hp":49,"maxHp":50,"mp":51,"maxMp":52,"id":53,"name":"p2"}]}`},
	{name: "onRemoveEntities", protos: "lord/server", route: "onRemoveEntities",
		msg: `{"entities":[1,2,300,16384,4294967295]}`},
	{name: "onRemoveEntities empty", protos: "lord/server", route: "onRemoveEntities",
		msg: `{"entities":[]}`},
	{name: "onUpgrade", protos: "lord/server", route: "onUpgrade",
		msg: `{"entityId":1,"kindId":2,"x":3,"y":4,"level":5,"walkSpeed":6,"hp":7,"maxHp":8,"mp":9,"maxMp":10,"id":11,"name":"hero","experience":13,` +
			`"attackValue":14,"defenceValue":15,"attackSpeed":1.5,"areaId":17,"hitRate":18,"dodgeRate":19,"nextLevelExp":20,"skillPoint":21,"kindName":"warrior","type":"player"}`},
	{name: "onNPCTalk", protos: "lord/server", route: "onNPCTalk",
		msg: `{"npc":5,"npcword":"hi","myword":"bye","action":"x","params":{"target":9}}`},
	{name: "onNPCTalk empty nested", protos: "lord/server", route: "onNPCTalk",
		msg: `{"npc":5,"npcword":"hi","myword":"bye","params":{}}`},
	{name: "enterScene", protos: "lord/server", route: "area.playerHandler.enterScene",
		msg: `{"entities":{"npc":[{"entityId":1,"kindId":2,"x":3,"y":4}],"player":[{"entityId":31,"kindId":32,"x":33,"y":34,"level":35,"walkSpeed":36,"hp":37,"maxHp":38,"mp":39,"maxMp":40,"id":41,"name":"someone"}]},` +
			`"curPlayer":{"entityId":1,"kindId":2,"x":3,"y":4,"level":5,"walkSpeed":6,"hp":7,"maxHp":8,"mp":9,"maxMp":10,"id":11,"name":"me","experience":13,"attackValue":14,"defenceValue":15,"attackSpeed":2.25,` +
			`"areaId":17,"hitRate":18,"dodgeRate":19,"nextLevelExp":20,"skillPoint":21,"type":"player",` +
			`"bag":{"itemCount":2,"items":[{"key":1,"id":100,"type":"item"},{"key":2,"id":200,"type":"equipment"}]},` +
			`"equipments":{"weapon":1,"armor":2,"helmet":3,"necklace":4,"ring":5,"belt":6,"shoes":7,"legguard":8,"amulet":9},` +
			`"fightSkills":[{"id":1,"level":1},{"id":2,"level":3}],` +
			`"curTasks":[{"acceptTalk":"a","workTalk":"w","finishTalk":"f","item":"i","name":"task","id":1,"exp":2,"taskState":3,"taskData":"{}","completeCondition":"{\"x\":1}"}],"teamId":0},` +
			`"map":{"name":"town","width":4200,"height":2800,"tileW":20,"tileH":20,"weightMap":[{"collisions":[{"start":0,"length":10},{"start":20,"length":5}]},{"collisions":[]},{}]}}`},
	{name: "types", protos: "types", route: "test.types",
		msg: `{"d":-1.5e300,"f":-2.5,"s":-2147483648,"i":-1,"u":4294967295,"str":"s",` +
			`"ds":[1.25e-300,-0.1,3.141592653589793],"fs":[-0.15625,1.5,1048576],"ss":[-1,0,1,2147483647],"is":[-2147483648,-64,63,-65],` +
			`"strs":["a","","ü","long string in a repeated field"],"us":[0,127,128,16383,16384],` +
			`"inner":{"name":"in","values":[-5,5]},"inners":[{"name":"x","values":[]},{"name":"y"}],` +
			`"node":{"id":1,"next":{"id":2,"next":{"id":3,"label":"end"}}},"big":300}`},
	{name: "types inexact float", protos: "types", route: "test.types", inexact: true,
		msg: `{"d":0.1,"f":0.1,"s":0,"i":0,"fs":[3.4028234663852886e38,1e-40,0.3]}`},
	{name: "types negative zero", protos: "types", route: "test.types",
		msg: `{"d":-0,"f":-0,"s":1,"i":2}`},
	{name: "types fractions truncate", protos: "types", route: "test.types", inexact: true,
		msg: `{"d":1,"f":1,"s":-2.7,"i":2.7,"u":3.9,"us":[0.5,1.5]}`},
	{name: "types short repeated doubles", protos: "types", route: "test.types", nodeThrows: true,
		msg: `{"d":0,"f":0,"s":0,"i":0,"ds":[0,0,0,0,0,0,0,0,0,0,0,0]}`},
	{name: "quirks decodable", protos: "quirks", route: "route.with.quirks",
		// "" and afterEmpty share tag 7, which decodes as afterEmpty.
		decoded: `{"2":[{"y":1}],"10":[{"y":2}],"a":1,"afterEmpty":7,"strTag":"s","x":6,"zero":5,"qux":{"self":{"s":"deep"},"s":"top"}}`,
		msg:     `{"2":[{"y":1}],"10":[{"y":2}],"a":1,"":8,"afterEmpty":7,"strTag":"s","x":6,"zero":5,"qux":{"self":{"s":"deep"},"s":"top"}}`},
	{name: "quirks odd tags", protos: "quirks", route: "route.with.quirks", undecodable: true,
		msg: `{"2":[],"a":1,"":8,"afterEmpty":7,"floatTag":2.5,"nullTag":3,"boolTag":4,"arrTag":5,"objTag":6,"x":6,"hex":17,"spaced":18}`},
}

// refusedCases are messages pomelo-protobuf refuses (returns null) or throws
// on; we must refuse them with an error.
var refusedCases = []encodeCase{
	{name: "required missing", protos: "chat/server", route: "onChat", msg: `{"msg":"x","from":"y"}`},
	{name: "nested required missing", protos: "lord/server", route: "onMove", msg: `{"entityId":1,"path":[{"x":1}],"speed":1}`},
	{name: "negative uInt32", protos: "lord/server", route: "onRemoveEntities", msg: `{"entities":[-1]}`},
	{name: "null required", protos: "chat/server", route: "onChat", msg: `{"msg":null,"from":"y","target":"z"}`},
	{name: "number for string", protos: "chat/server", route: "onChat", msg: `{"msg":1,"from":"y","target":"z"}`},
	{name: "negative tag", protos: "quirks", route: "route.with.quirks", msg: `{"a":1,"":8,"afterEmpty":7,"x":6,"neg":1}`},
	{name: "big tag", protos: "quirks", route: "route.with.quirks", msg: `{"a":1,"":8,"afterEmpty":7,"x":6,"bigTag":1}`},
	{name: "repeated uInt64", protos: "quirks", route: "route.with.quirks", msg: `{"a":1,"":8,"afterEmpty":7,"x":6,"longs":[1]}`},
}

// clientCases are requests as the browser build of pomelo-protobuf encodes
// them, which our decoder must read back (it writes integers with wire type
// 2, and strings as CESU-8).
var clientCases = []encodeCase{
	{name: "attack", protos: "lord/client", route: "area.fightHandler.attack", msg: `{"targetId":77}`},
	{name: "types", protos: "types", route: "test.types",
		msg: `{"d":-1.5e300,"f":-2.5,"s":-2147483648,"i":-1,"u":4294967295,"str":"s and a rather long string to pad the JSON",` +
			`"ds":[1.25e-300,-0.125,3.141592653589793],"fs":[-0.15625,1.5,1048576],"ss":[-1,0,1,2147483647],"is":[-2147483648,-64,63],` +
			`"strs":["a","","ü","中文"],"us":[0,127,128,16384],"inner":{"name":"in","values":[-5,5]},"inners":[{"name":"x","values":[]},{"name":"y"}],` +
			`"node":{"id":1,"next":{"id":2,"label":"end"}},"big":300}`},
}

// badUTF8 are string bodies with invalid UTF-8 that both decoders must
// replace alike.
var badUTF8 = []string{"\xe2\x82A", "\xff", "a\xf0\x9f\x98", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80z", "\xe0\x80\x80", "ok\xe2\x82"}

// cesuEmoji is 😀 as the browser build writes it: each UTF-16 surrogate as
// its own three-byte sequence.
const cesuEmoji = "\xed\xa0\xbd\xed\xb8\x80"

func onChatBody(msg string) []byte {
	var b []byte
	for i, s := range []string{msg, "from", "*"} {
		b = append(b, byte((i+1)<<3|2))
		b = appendVarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// TestNodeInterop proves the package against npm's pomelo-protobuf: parsed
// JSON, versions, encoded bytes and decoded messages must be what
// pomelo-protobuf makes of the same input. One Node process answers all
// the questions.
func TestNodeInterop(t *testing.T) {
	dir := installPomeloProtobuf(t)
	texts := readProtosFiles(t)
	protos := make(map[string]*Protos)
	for name, text := range texts {
		protos[name] = mustParse(t, text)
	}

	var batch jsBatch
	type check struct {
		name string
		fn   func(t *testing.T, res []jsResult)
	}
	var checks []check

	// Parse and JSON, on the real files, ours, and generated oddities.
	docs := []string{}
	for _, name := range []string{"chat/server", "chat/client", "lord/server", "lord/client", "types", "quirks"} {
		docs = append(docs, texts[name])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		docs = append(docs, randomProtosDoc(rng))
	}
	for i, doc := range docs {
		at := batch.add(jsCase{Op: "parse", Text: doc})
		checks = append(checks, check{"parse/" + docName(i), func(t *testing.T, res []jsResult) {
			r := res[at]
			if r.Error != "" || r.JSON == nil {
				t.Fatalf("node: %s", r.Error)
			}
			p, err := Parse([]byte(doc))
			if err != nil {
				t.Fatalf("Parse(%s): %v", doc, err)
			}
			if got := string(p.JSON()); got != *r.JSON {
				t.Errorf("JSON of %s\n got %s\nwant %s", doc, got, *r.JSON)
			}
		}})
	}

	// Version and the handshake's protos object.
	for _, pair := range [][2]string{
		{"chat/client", "chat/server"}, {"lord/client", "lord/server"}, {"", "lord/server"},
		{"lord/client", ""}, {"", ""}, {"types", "quirks"},
	} {
		var c jsCase
		c.Op = "version"
		var client, server *Protos
		if pair[0] != "" {
			s := texts[pair[0]]
			c.Client, client = &s, protos[pair[0]]
		}
		if pair[1] != "" {
			s := texts[pair[1]]
			c.Server, server = &s, protos[pair[1]]
		}
		at := batch.add(c)
		checks = append(checks, check{"version/" + pair[0] + "+" + pair[1], func(t *testing.T, res []jsResult) {
			r := res[at]
			if r.Error != "" {
				t.Fatalf("node: %s", r.Error)
			}
			if got := Version(client, server); got != r.Version {
				t.Errorf("Version = %q, Pomelo computes %q", got, r.Version)
			}
			if got := string(HandshakeProtos(client, server)); got != r.Handshake {
				t.Errorf("HandshakeProtos\n got %s\nwant %s", got, r.Handshake)
			}
		}})
	}

	// Encoding, and decoding both ways.
	for _, ec := range encodeCases {
		p := protos[ec.protos]
		ours, err := p.Encode(ec.route, decodeMsg(t, ec.msg))
		if err != nil {
			t.Errorf("encode %s: %v", ec.name, err)
			continue
		}
		oursHex := hex.EncodeToString(ours)
		encAt := batch.add(jsCase{Op: "encode", Protos: texts[ec.protos], Route: ec.route, Msg: ec.msg})
		decAt := batch.add(jsCase{Op: "decode", Protos: texts[ec.protos], Route: ec.route, Hex: oursHex})
		browserAt := batch.add(jsCase{Op: "clientDecode", Protos: texts[ec.protos], Route: ec.route, Hex: oursHex})
		checks = append(checks, check{"encode/" + ec.name, func(t *testing.T, res []jsResult) {
			r := res[encAt]
			switch {
			case ec.nodeThrows:
				if r.Error == "" {
					t.Errorf("pomelo-protobuf no longer fails on this message; it wrote %s", hexOf(r))
				}
			case r.Error != "":
				t.Fatalf("node: %s", r.Error)
			case hexOf(r) != oursHex:
				// pomelo-protobuf returns null for an empty result; Pomelo
				// then sends an empty body, as our empty slice does.
				t.Errorf("bytes differ\n ours %s\n node %s", oursHex, hexOf(r))
			}

			back, err := p.Decode(ec.route, ours)
			d := res[decAt]
			if ec.undecodable {
				if d.Error == "" {
					t.Errorf("pomelo-protobuf decoded %s", *d.JSON)
				}
				if err == nil {
					t.Errorf("we decoded %v", back)
				}
				return
			}
			if err != nil {
				t.Fatalf("decoding our own bytes: %v", err)
			}
			if !ec.inexact {
				want := ec.decoded
				if want == "" {
					want = withoutEmptyArrays(t, ec.msg)
				}
				sameJSON(t, "our decoding of our bytes", back, want)
			}
			if d.Error != "" || d.JSON == nil {
				t.Fatalf("pomelo-protobuf cannot decode our bytes: %s", d.Error)
			}
			sameJSON(t, "pomelo-protobuf's decoding of our bytes", back, *d.JSON)
			if ec.astral {
				return
			}
			b := res[browserAt]
			if b.Error != "" || b.JSON == nil {
				t.Fatalf("the browser build cannot decode our bytes: %s", b.Error)
			}
			sameJSON(t, "the browser build's decoding of our bytes", back, *b.JSON)
		}})
	}
	for _, ec := range refusedCases {
		encAt := batch.add(jsCase{Op: "encode", Protos: texts[ec.protos], Route: ec.route, Msg: ec.msg})
		checks = append(checks, check{"refused/" + ec.name, func(t *testing.T, res []jsResult) {
			if r := res[encAt]; r.Error == "" && r.Hex != nil {
				t.Errorf("pomelo-protobuf encodes it now: %s", *r.Hex)
			}
			if out, err := protos[ec.protos].Encode(ec.route, decodeMsg(t, ec.msg)); err == nil {
				t.Errorf("we encode it: %x", out)
			} else {
				t.Log(err)
			}
		}})
	}

	// What the browser build sends, we read.
	for _, ec := range clientCases {
		encAt := batch.add(jsCase{Op: "clientEncode", Protos: texts[ec.protos], Route: ec.route, Msg: ec.msg})
		checks = append(checks, check{"client/" + ec.name, func(t *testing.T, res []jsResult) {
			r := res[encAt]
			if r.Error != "" || r.Hex == nil {
				t.Fatalf("browser build: %v %s", r.Hex, r.Error)
			}
			b, _ := hex.DecodeString(*r.Hex)
			got, err := protos[ec.protos].Decode(ec.route, b)
			if err != nil {
				t.Fatalf("decoding the browser build's %x: %v", b, err)
			}
			sameJSON(t, "our decoding of the browser build's bytes", got, withoutEmptyArrays(t, ec.msg))
		}})
	}
	emojiAt := batch.add(jsCase{Op: "clientEncode", Protos: texts["chat/server"], Route: "onChat", Msg: `{"msg":"😀","from":"from","target":"*"}`})
	checks = append(checks, check{"client/emoji", func(t *testing.T, res []jsResult) {
		r := res[emojiAt]
		if r.Error != "" || r.Hex == nil {
			t.Fatalf("browser build: %s", r.Error)
		}
		if want := hex.EncodeToString(onChatBody(cesuEmoji)); *r.Hex != want {
			t.Fatalf("the browser build no longer writes CESU-8: %s, not %s", *r.Hex, want)
		}
		b, _ := hex.DecodeString(*r.Hex)
		got, err := protos["chat/server"].Decode("onChat", b)
		if err != nil {
			t.Fatal(err)
		}
		if got["msg"] != "😀" {
			t.Errorf("msg = %q, want the emoji the browser meant", got["msg"])
		}
	}})

	// Invalid UTF-8 in a string reads as Node reads it.
	for _, s := range append(badUTF8, cesuEmoji) {
		body := onChatBody(s)
		at := batch.add(jsCase{Op: "decode", Protos: texts["chat/server"], Route: "onChat", Hex: hex.EncodeToString(body)})
		checks = append(checks, check{"utf8/" + hex.EncodeToString([]byte(s)), func(t *testing.T, res []jsResult) {
			r := res[at]
			if r.Error != "" || r.JSON == nil {
				t.Fatalf("node: %s", r.Error)
			}
			got, err := protos["chat/server"].Decode("onChat", body)
			if err != nil {
				t.Fatal(err)
			}
			if s == cesuEmoji {
				// Node's server decoder makes six U+FFFD of it; we read the
				// character the browser meant.
				if want := `{"msg":"` + strings.Repeat("\ufffd", 6) + `","from":"from","target":"*"}`; *r.JSON != want {
					t.Errorf("node decodes CESU-8 as %s, not %s", *r.JSON, want)
				}
				return
			}
			sameJSON(t, "decoding", got, *r.JSON)
		}})
	}

	res := batch.run(t, dir)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, res) })
	}
}

// withoutEmptyArrays is a message's JSON less its empty arrays: an empty
// repeated field is not written, so it does not decode.
func withoutEmptyArrays(t *testing.T, msg string) string {
	t.Helper()
	var drop func(v any) any
	drop = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if a, ok := e.([]any); ok && len(a) == 0 {
					delete(t, k)
				} else {
					t[k] = drop(e)
				}
			}
		case []any:
			for i, e := range t {
				t[i] = drop(e)
			}
		}
		return v
	}
	b, err := json.Marshal(drop(decodeMsg(t, msg)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func docName(i int) string {
	names := []string{"chat-server", "chat-client", "lord-server", "lord-client", "types", "quirks"}
	if i < len(names) {
		return names[i]
	}
	return "random-" + strings.TrimLeft(hex.EncodeToString([]byte{byte(i >> 8), byte(i)}), "0")
}

// randomProtosDoc writes a protos file from pieces chosen to hit the
// parser's corners: malformed keys, duplicate keys and tags, array-index
// keys, reserved names, tags of every JSON type and odd number spellings.
func randomProtosDoc(r *rand.Rand) string {
	routes := []string{`"onChat"`, `"1"`, `"0"`, `"message Foo"`, `"message Bar"`, `"a.b.c"`, `"__proto__"`,
		`"4294967295"`, `"4294967294"`, `""`, `"route"`, `"07"`}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := 0, r.IntN(6); i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(routes[r.IntN(len(routes))])
		b.WriteByte(':')
		writeRandomMessage(r, &b, 0)
	}
	b.WriteByte('}')
	return b.String()
}

func writeRandomMessage(r *rand.Rand, b *strings.Builder, depth int) {
	keys := []string{`"required uInt32 a"`, `"optional string b"`, `"repeated Foo c"`, `"repeated uInt32 d"`,
		`"message Foo"`, `"message Bar"`, `"message"`, `"message 3"`, `"required  x y"`, `"required x"`,
		`"optional sInt32 __proto__"`, `"message __proto__"`, `"required uInt32 __messages"`, `"optional uInt32 __tags"`,
		`"optional uInt32 "`, `"5"`, `"10"`, `"2"`, `"required uInt32 7"`, `"repeated x 01"`, `"required string 名"`,
		`"required string a\"b\\c\u0001"`, `"\u2028 x"`, `"required Foo e"`, `"optional Bar f"`, `"optional double g"`,
		`"required uInt32 toString"`, `"required uInt32 4294967295"`, `"required uInt32 4294967294"`, `"required uInt32 0"`,
		`"optional uInt32 x y"`, `"repeated string s"`, `"required uInt32 a"`}
	values := []string{"1", "2", "3", "4", "5", "6", "7", "0", "1", "2", "1e21", "4294967295", "4294967296", "-1", "-0",
		"1.5", "1e-7", "1E-7", "0.000001", "123456789012345680000", "5e-324", "1.7976931348623157e308", "1e400",
		"0.1", "100e-2", "1.0", `"1"`, `"01"`, `"toString"`, `"__proto__"`, `""`, `" 2 "`, `"0x10"`, `"abc"`,
		`"hasOwnProperty"`, `"1e3"`, "true", "false", "null", "[]", "[1]", "[1,2]", "[null]", "[[]]", `[1,[2,null],"x"]`,
		"{}", `{"a":1,"1":2,"a":3}`, `"\u2028<>&\u007f"`, `"é"`}
	b.WriteByte('{')
	for i, n := 0, r.IntN(9); i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		k := keys[r.IntN(len(keys))]
		b.WriteString(k)
		b.WriteByte(':')
		if strings.HasPrefix(k, `"message`) && depth < 3 && r.IntN(4) > 0 {
			writeRandomMessage(r, b, depth+1)
		} else {
			b.WriteString(values[r.IntN(len(values))])
		}
	}
	b.WriteByte('}')
}
