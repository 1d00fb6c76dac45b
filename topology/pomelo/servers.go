package pomelo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/topology"
)

// servers maps servers.json: one topology server type per key, in file order.
func (im *importer) servers(f *file) []*serverType {
	sec := im.section(f, serverTypes)
	if sec == nil {
		return nil
	}
	if sec.kind != objectKind {
		im.fail(sec.pos, `write {"connector": [{"id": "connector-server-1", ...}], ...}`, "want an object of server types, found %s", sec.describe())
		return nil
	}
	errs := len(im.errs)
	var types []*serverType
	for _, m := range sec.members {
		switch m.val.kind {
		case arrayKind:
		case objectKind:
			im.fail(m.val.pos, fmt.Sprintf("write the type's servers in a list: %q: [{...}, ...]", m.key), "server type %q is one object, not a list of servers", m.key)
			continue
		default:
			// Habit: "comments" and the like beside the server types.
			im.warn(m.keyPos, "%q is not a server type (its value is %s, not a list of servers): ignored", m.key, m.val.describe())
			continue
		}
		if len(m.val.items) == 0 {
			im.warn(m.keyPos, "server type %q lists no servers: left out", m.key)
			continue
		}
		if st := im.serverType(m); st != nil {
			types = append(types, st)
		}
	}
	if len(types) == 0 && len(im.errs) == errs {
		what := "servers.json"
		if im.keyed(f) {
			what = fmt.Sprintf("the %q environment", im.opts.Env)
		}
		im.fail(sec.pos, "declare its server types, or import another environment with --env", "%s declares no servers", what)
	}
	return types
}

// facts are what one server says about its whole type.
type facts struct {
	frontend    bool
	frontendPos topology.Pos
	maxConns    int
	maxPos      topology.Pos
	hasMax      bool
}

// serverType maps one type's list of servers. Pomelo declares per server what the
// topology declares per type (frontend, the connector's limit); the servers must
// agree on the first, and the largest limit wins.
func (im *importer) serverType(m *member) *serverType {
	st := &serverType{name: m.key}
	var all []facts
	for _, item := range m.val.items {
		if item.kind != objectKind {
			im.fail(item.pos, "", "want a server (an object with id, host, port, ...), found %s", item.describe())
			continue
		}
		e, fx := im.entry(st.name, item)
		if len(all) > 0 && fx.frontend != all[0].frontend {
			first := all[0].frontendPos
			im.fail(fx.frontendPos, "a type's servers are all frontends or all backends: make them agree, or split the type",
				"server type %q mixes frontends and backends: this server is a %s, the one at %d:%d a %s",
				st.name, role(fx.frontend), first.Line, first.Col, role(all[0].frontend))
		}
		all = append(all, fx)
		st.entries = append(st.entries, e)
	}
	if len(all) == 0 {
		return nil
	}
	st.frontend = all[0].frontend
	im.maxConnections(st, m, all)
	hoistRestart(st)
	return st
}

func role(frontend bool) string {
	if frontend {
		return "frontend"
	}
	return "backend"
}

// maxConnections sets the connector's limit from the servers' max-connections.
func (im *importer) maxConnections(st *serverType, m *member, all []facts) {
	var first *facts
	var values []string // the distinct limits written, "none" for a server without
	for i := range all {
		fx := &all[i]
		v := "none"
		if fx.hasMax {
			v = strconv.Itoa(fx.maxConns)
			if first == nil {
				first = fx
			}
			st.maxConns = max(st.maxConns, fx.maxConns)
		}
		if !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	switch {
	case first == nil:
		return
	case !st.frontend:
		im.warn(first.maxPos, "max-connections on backend type %q, which accepts no clients: dropped", st.name)
		st.maxConns = 0
	case len(values) > 1:
		im.warn(m.keyPos, "the servers of type %q differ in max-connections (%s): the type's connector.maxConnections is the largest, %d, for all of them",
			st.name, andList(values), st.maxConns)
	}
}

// hoistRestart moves a restart policy that every server of the type shares onto
// the type, where it reads once. Servers that differ keep their own.
func hoistRestart(st *serverType) {
	r := st.entries[0].restart
	if r == (restartSpec{}) {
		return
	}
	for _, e := range st.entries[1:] {
		if e.restart != r {
			return
		}
	}
	st.restart = r
	for _, e := range st.entries {
		e.restart = restartSpec{}
	}
}

// entry maps one server object of type typ.
func (im *importer) entry(typ string, obj *value) (*entry, facts) {
	e := &entry{}
	fx := facts{frontendPos: obj.pos}
	var id, port, clientPort, wsPort, token *member
	var settings []*member
	frontendSet := false
	for _, m := range obj.members {
		switch m.key {
		case "id":
			id = m
		case "host":
			e.host = im.text(m)
		case "clientHost":
			e.clientHost = im.text(m)
		case "port":
			port = m
		case "clientPort":
			clientPort = m
		case "wsPort":
			wsPort = m
		case "token":
			token = m
		case "frontend":
			fx.frontend, frontendSet, fx.frontendPos = im.flag(m), true, m.val.pos
		case "clusterCount":
			n, ok := m.val.integer()
			if !ok || n < 1 {
				im.fail(m.val.pos, "write how many servers the group has, e.g. 8", "clusterCount wants a number of servers, found %s", m.val.describe())
			}
			e.count = n
		case "auto-restart":
			e.restart.onFailure = im.flag(m) || e.restart.onFailure
		case "restart-force":
			if im.flag(m) {
				e.restart = restartSpec{onFailure: true, force: true}
			}
		case "max-connections":
			n, ok := m.val.integer()
			if !ok || n < 0 {
				im.fail(m.val.pos, "write a number of connections, e.g. 10000", "max-connections wants a number, found %s", m.val.describe())
			}
			fx.maxConns, fx.maxPos, fx.hasMax = n, m.val.pos, true
		case "cpu":
			e.cpu = im.cpu(m)
		case "args":
			im.warn(m.keyPos, "args (%s) are Node.js options, which mean nothing to a Go server: dropped", m.val.describe())
		default:
			settings = append(settings, m)
		}
	}
	cluster := e.count > 0
	if wsPort != nil {
		if clientPort != nil {
			im.warn(wsPort.keyPos, "wsPort is Pomelo 0.x's name for clientPort, which is set too: wsPort dropped")
		} else {
			im.warn(wsPort.keyPos, "wsPort is Pomelo 0.x's name for clientPort: imported as clientPort")
			clientPort = wsPort
		}
	}
	switch {
	case !frontendSet && clientPort != nil:
		fx.frontend, fx.frontendPos = true, clientPort.keyPos
		im.warn(clientPort.keyPos, "a server with a client port and no \"frontend\" key: imported as a frontend")
	case frontendSet && !fx.frontend && clientPort != nil:
		im.warn(clientPort.keyPos, "a backend (frontend: false) never listens on its client port: %s dropped", clientPort.key)
		clientPort = nil
	}
	if port != nil {
		e.port = im.port(port, cluster)
	}
	if clientPort != nil {
		e.clientPort = im.port(clientPort, cluster)
	}
	im.identify(e, typ, obj, id)
	if token != nil {
		im.serverToken(e, typ, token)
	}
	for _, m := range settings {
		if e.settings == nil {
			e.settings = newMap(true)
		}
		if s := m.val; cluster && s.kind == stringKind && strings.HasSuffix(s.text, "++") {
			im.warn(s.pos, "only ports count up in a cluster group: %s is copied as it is to every server", s.describe())
		}
		set(e.settings, m.key, jsonNode(m.val))
	}
	return e, fx
}

// identify sets the server's id. Pomelo requires one on every server except a
// cluster group's, whose servers it names itself.
func (im *importer) identify(e *entry, typ string, obj *value, id *member) {
	switch {
	case e.count > 0 && id != nil:
		im.warn(id.keyPos, "Pomelo ignores the id of a clusterCount group and names its servers %s%s-<n>: dropped", topology.ClusterIDPrefix, typ)
	case e.count > 0:
	case id == nil:
		im.fail(obj.pos, fmt.Sprintf(`write "id": "%s-server-N", or "clusterCount": N for a group`, typ), "a server of type %q without an id", typ)
	default:
		if e.id = im.text(id); e.id == "" {
			im.fail(id.val.pos, "", "an empty server id")
		}
	}
}

// serverToken sets a server's own token. A cluster group has none in the
// topology: its servers present the type's.
func (im *importer) serverToken(e *entry, typ string, m *member) {
	if e.count > 0 {
		im.warn(m.keyPos, "a cluster group has no token of its own: its servers present master.tokens.%s (adminServer.json); dropped", typ)
		return
	}
	e.token = im.secret(m)
}

// secret reads a password or token, which the topology would read ${NAME} in as
// an environment variable.
func (im *importer) secret(m *member) string {
	s := im.text(m)
	if strings.Contains(s, "${") {
		im.warn(m.val.pos, "%s contains ${, which the topology reads as an environment variable", m.key)
	}
	return s
}

// text reads a value Pomelo uses as a string.
func (im *importer) text(m *member) string {
	s, ok := m.val.scalarText()
	if !ok {
		im.fail(m.val.pos, "", "%s wants a string, found %s", m.key, m.val.describe())
	}
	return s
}

// flag reads a boolean, or "true" or "false".
func (im *importer) flag(m *member) bool {
	b, ok := m.val.boolean()
	if !ok {
		im.fail(m.val.pos, "write true or false", "%s wants true or false, found %s", m.key, m.val.describe())
	}
	return b
}

// port reads a port, a numeric string, or in a cluster group "N++".
func (im *importer) port(m *member, cluster bool) portSpec {
	v := m.val
	var p portSpec
	ok := false
	switch v.kind {
	case numberKind:
		p.port, ok = wholeNumber(v.text)
	case stringKind:
		base, inc := strings.CutSuffix(v.text, "++")
		n, err := strconv.Atoi(base)
		p, ok = portSpec{port: n, increment: inc}, err == nil
	}
	switch {
	case !ok:
		im.fail(v.pos, `write a port such as 3150, or "3150++" in a clusterCount group`, "%s wants a port, found %s", m.key, v.describe())
	case p.port < 1 || p.port > 65535:
		im.fail(v.pos, "write a port between 1 and 65535", "%s %d is out of range", m.key, p.port)
	case p.increment && !cluster:
		im.fail(v.pos, fmt.Sprintf(`write %d, or add "clusterCount": N to make this a group`, p.port), "%s counts up only in a clusterCount group", v.describe())
	}
	return p
}

// cpu reads a CPU number, or a set such as "0-3" (Pomelo hands it to taskset).
func (im *importer) cpu(m *member) *yaml.Node {
	v := m.val
	text := v.text
	if v.kind == numberKind {
		if n, ok := wholeNumber(v.text); ok {
			text = strconv.Itoa(n)
		}
	}
	set, err := topology.ParseCPUSet(text)
	if (v.kind != numberKind && v.kind != stringKind) || err != nil {
		im.fail(v.pos, `write a CPU number (2) or a set ("0-3")`, "cpu wants a CPU number, found %s", v.describe())
		return nil
	}
	if len(set) == 1 {
		return intNode(set[0])
	}
	return strNode(set.String())
}
