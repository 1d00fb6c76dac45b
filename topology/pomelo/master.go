package pomelo

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/topology"
)

// master maps master.json: the master's id, host and port.
func (im *importer) master(f *file) masterSpec {
	var ms masterSpec
	sec := im.section(f, anObject)
	if sec == nil {
		return ms
	}
	if sec.kind != objectKind {
		im.fail(sec.pos, `write {"id": "master-server-1", "host": "127.0.0.1", "port": 3005}`, "want the master's id, host and port, found %s", sec.describe())
		return ms
	}
	for _, m := range sec.members {
		switch m.key {
		case "id":
			ms.id = im.text(m)
		case "host":
			ms.host = im.text(m)
		case "port":
			ms.port = im.port(m, false).port
		default:
			im.dropped(m)
		}
	}
	return ms
}

// dropped warns that a key the topology has no place for is left out.
func (im *importer) dropped(m *member) {
	if m.key == "args" {
		im.warn(m.keyPos, "args (%s) are Node.js options, which mean nothing to a Go server: dropped", m.val.describe())
		return
	}
	im.warn(m.keyPos, "%q has no place in the topology: dropped", m.key)
}

// primaryID is the master's id as the topology will have it.
func (t *topo) primaryID() string {
	if t.master.id != "" {
		return t.master.id
	}
	return topology.DefaultMasterID
}

// masterHA maps masterha.json, {"masterha": [standby masters]}. The file does not
// say where ZooKeeper is (the plugin's options in app.js do), so the topology
// gets Pomelo's defaults, with a warning.
func (im *importer) masterHA(f *file, t *topo) *haSpec {
	sec := im.section(f, anObject)
	if sec == nil {
		return nil
	}
	if sec.kind != objectKind {
		im.fail(sec.pos, `write {"masterha": [{"id": "master-server-2", "host": "127.0.0.1", "port": 3006}]}`, "want an object with a \"masterha\" list, found %s", sec.describe())
		return nil
	}
	var list *member
	for _, m := range sec.members {
		if m.key == "masterha" {
			list = m
		} else {
			im.dropped(m)
		}
	}
	switch {
	case list == nil:
		im.fail(sec.pos, `write {"masterha": [{"id": "master-server-2", "host": "127.0.0.1", "port": 3006}]}`, "no \"masterha\" list of standby masters")
		return nil
	case list.val.kind != arrayKind:
		im.fail(list.val.pos, "", "masterha wants a list of standby masters, found %s", list.val.describe())
		return nil
	case len(list.val.items) == 0:
		im.warn(list.keyPos, "no standby masters are listed: the topology has no ha section")
		return nil
	}
	owner := map[string]string{t.primaryID(): "the primary master"}
	for _, st := range t.types {
		for _, e := range st.entries {
			if e.id != "" {
				owner[e.id] = fmt.Sprintf("a server of type %s", st.name)
			}
		}
	}
	ha := &haSpec{}
	for _, item := range list.val.items {
		if item.kind != objectKind {
			im.fail(item.pos, "", "want a standby master (an object with id, host and port), found %s", item.describe())
			continue
		}
		sb := standby{idPos: item.pos}
		for _, m := range item.members {
			switch m.key {
			case "id":
				sb.id, sb.idPos = im.text(m), m.val.pos
			case "host":
				sb.host = im.text(m)
			case "port":
				sb.port = im.port(m, false).port
			default:
				im.dropped(m)
			}
		}
		// Seed 002 and lordofpomelo list the primary's id for every standby; the
		// plugin does not mind, but the topology names each master once.
		if whose, taken := owner[sb.id]; taken || sb.id == "" {
			id := freeID(orDefault(sb.id, t.primaryID()), owner)
			if sb.id == "" {
				im.warn(sb.idPos, "a standby master without an id: imported as %q", id)
			} else {
				im.warn(sb.idPos, "standby id %q is already taken by %s: imported as %q", sb.id, whose, id)
			}
			sb.id = id
		}
		owner[sb.id] = fmt.Sprintf("the standby at %d:%d", sb.idPos.Line, sb.idPos.Col)
		ha.standbys = append(ha.standbys, sb)
	}
	im.warn(list.keyPos, "masterha.json does not say where ZooKeeper is: the topology uses Pomelo's defaults, %s and path %s (change ha.zookeeper and ha.path if yours differ)",
		topology.DefaultZookeeper, topology.DefaultHAPath)
	return ha
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// freeID numbers id up until it is free: master-server-1 gives master-server-2,
// then master-server-3; an id without a number gets -2, -3, ...
func freeID(id string, taken map[string]string) string {
	prefix := strings.TrimRight(id, "0123456789")
	n, err := strconv.Atoi(id[len(prefix):])
	if err != nil {
		prefix, n = id+"-", 1
	}
	for n++; ; n++ {
		if _, used := taken[prefix+strconv.Itoa(n)]; !used {
			return prefix + strconv.Itoa(n)
		}
	}
}

// adminUsers maps adminUser.json, a list of {id, username, password, level}.
func (im *importer) adminUsers(f *file) []*yaml.Node {
	sec := im.section(f, anObject)
	if sec == nil {
		return nil
	}
	if sec.kind != arrayKind {
		im.fail(sec.pos, `write [{"id": "user-1", "username": "admin", "password": "admin", "level": 1}]`, "want a list of admin users, found %s", sec.describe())
		return nil
	}
	if len(sec.items) == 0 {
		// Pomelo with no admin users refuses every admin client; a topology needs
		// someone who can act, so it falls back to the default user.
		im.warn(sec.pos, "adminUser.json lists no users: the topology gets the default admin user (admin/admin), which the admin API only serves on loopback; declare master.users before exposing it")
		return nil
	}
	var users []*yaml.Node
	warned := false
	for _, item := range sec.items {
		if item.kind != objectKind {
			im.fail(item.pos, "", "want an admin user (an object with id, username, password and level), found %s", item.describe())
			continue
		}
		u := newMap(true)
		for _, m := range item.members {
			switch m.key {
			case "id", "username":
				set(u, m.key, strNode(im.text(m)))
			case "password":
				set(u, m.key, strNode(im.secret(m)))
				if !warned {
					im.warn(m.val.pos, "admin passwords are copied in clear into the topology: write password: ${SOME_ENV_VAR} (or ${SOME_ENV_VAR:-default}) to keep them out of it")
					warned = true
				}
			case "level":
				n, ok := m.val.integer()
				if !ok {
					im.fail(m.val.pos, "write 1 for a user who may act, 2 for one who may only read", "level wants a number, found %s", m.val.describe())
				}
				set(u, m.key, intNode(n))
			default:
				im.dropped(m)
			}
		}
		users = append(users, u)
	}
	return users
}

// adminServers maps adminServer.json, a list of {type, token}, onto the tokens of
// the types servers.json declares.
func (im *importer) adminServers(f *file, types []*serverType) []typeToken {
	sec := im.section(f, anObject)
	if sec == nil {
		return nil
	}
	if sec.kind != arrayKind {
		im.fail(sec.pos, `write [{"type": "connector", "token": "..."}]`, "want a list of server types' tokens, found %s", sec.describe())
		return nil
	}
	declared := map[string]bool{}
	for _, st := range types {
		declared[st.name] = true
	}
	var tokens []typeToken
	first := map[string]topology.Pos{}
	for _, item := range sec.items {
		if item.kind != objectKind {
			im.fail(item.pos, "", "want a server type's token (an object with type and token), found %s", item.describe())
			continue
		}
		var typ, token *member
		for _, m := range item.members {
			switch m.key {
			case "type":
				typ = m
			case "token":
				token = m
			default:
				im.dropped(m)
			}
		}
		if typ == nil || token == nil {
			im.warn(item.pos, "an entry without both a type and a token: ignored")
			continue
		}
		tt := typeToken{typ: im.text(typ), token: im.secret(token)}
		if !declared[tt.typ] {
			im.warn(typ.val.pos, "a token for server type %q, which servers.json does not declare: dropped", tt.typ)
			continue
		}
		if at, dup := first[tt.typ]; dup {
			im.warn(typ.val.pos, "a second token for server type %q (the first is at %d:%d): this later one is kept", tt.typ, at.Line, at.Col)
			for i := range tokens {
				if tokens[i].typ == tt.typ {
					tokens[i] = tt
				}
			}
			continue
		}
		first[tt.typ] = typ.val.pos
		tokens = append(tokens, tt)
	}
	return tokens
}
