package scripting

import (
	"errors"
	"testing"
)

func TestCompileRouterAccepts(t *testing.T) {
	for _, src := range []string{
		`servers[crc32(session.uid) % len(servers)]`, // a Server
		`servers[0].id`,                // a server id
		`crc32(route) % len(servers)`,  // an index
		`session.id % len(servers)`,    // an int64 index
		`session.get("rid")`,           // unknown until run time
		`msg.serverId`,                 // unknown until run time
		`true ? servers[0] : "chat-1"`, // mixed, so unknown
		`servers[crc32(str(session.get("rid"))) % len(servers)]`,
		"\n  servers[crc32(session.uid)\n    % len(servers)]\n",
		`first(filter(servers, .frontend))`,
		`session.frontendId`,
	} {
		t.Run(src, func(t *testing.T) {
			r, err := CompileRouter(src)
			if err != nil {
				t.Fatalf("CompileRouter(%q) = %v, want no error", src, err)
			}
			if r.Source() != src {
				t.Errorf("Source() = %q, want %q", r.Source(), src)
			}
		})
	}
}

func TestCompileRouterRejects(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line, col int
		msg, hint string
	}{
		{"typo in a name", `servers[crc32(sesion.uid) % len(servers)]`, 1, 15, "unknown name sesion", "did you mean session?"},
		{"typo on line 2", "\n  servers[crc32(sesion.uid) % len(servers)]", 2, 17, "unknown name sesion", "did you mean session?"},
		{"typo in a field", `servers[crc32(session.uidd) % len(servers)]`, 1, 23, "session has no field uidd", "did you mean uid?"},
		{"typo in a server field", "servers[0]\n  .ids", 2, 4, "a server has no field ids", "did you mean id?"},
		{"typo in a function", `servers[crc3(session.uid) % len(servers)]`, 1, 9, "unknown name crc3", "did you mean crc32?"},
		{"Go name for a field", `session.UID`, 1, 9, "session has no field UID", "did you mean uid?"},
		{"characters, not bytes", `"é" + sesion`, 1, 7, "unknown name sesion", "did you mean session?"},
		{"no suggestion", `servers[xyzzy]`, 1, 9, "unknown name xyzzy", ""},
		{"wrong argument type", `crc32(session.id)`, 1, 15, "cannot use int64 as argument (type string) to call crc32", ""},
		{"syntax error", `servers[`, 1, 8, "the expression ends too soon", ""},
		{"unclosed call", "servers[crc32(session.uid) % len(servers]", 1, 41, "unexpected \"]\"", ""},
		{"bool", `session.uid == "x"`, 1, 1, "a router must give a server, a server id or an index into servers; this one gives bool", ""},
		{"float", "\n  1.5", 2, 3, "a router must give a server, a server id or an index into servers; this one gives float", ""},
		{"map", `session.settings`, 1, 1, "a router must give a server, a server id or an index into servers; this one gives map", ""},
		{"list", `servers`, 1, 1, "a router must give a server, a server id or an index into servers; this one gives list", ""},
		{"function", `session.get`, 1, 1, "a router must give a server, a server id or an index into servers; this one gives function", ""},
		{"duration", `duration("1s")`, 1, 1, "a router must give a server, a server id or an index into servers; this one gives duration", ""},
		{"nil", `nil`, 1, 1, "a router must give a server, a server id or an index into servers; this one gives nil", ""},
		{"empty", "", 1, 1, "the router expression is empty", "e.g. servers[crc32(session.uid) % len(servers)]"},
		{"blank", " \n\t", 1, 1, "the router expression is empty", "e.g. servers[crc32(session.uid) % len(servers)]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := CompileRouter(tc.src)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("CompileRouter(%q) = %v, %v; want an *Error", tc.src, r, err)
			}
			if se.Line != tc.line || se.Column != tc.col || se.Msg != tc.msg || se.Hint != tc.hint {
				t.Errorf("CompileRouter(%q) error = %d:%d %q hint %q\nwant %d:%d %q hint %q",
					tc.src, se.Line, se.Column, se.Msg, se.Hint, tc.line, tc.col, tc.msg, tc.hint)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Line: 2, Column: 5, Msg: "unknown name sesion"}, "2:5: unknown name sesion"},
		{&Error{Line: 1, Column: 15, Msg: "unknown name sesion", Hint: "did you mean session?"}, "1:15: unknown name sesion; did you mean session?"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q, want %q", tc.err, got, tc.want)
		}
	}
}
