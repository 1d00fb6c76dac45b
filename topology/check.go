package topology

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/spell"
	"github.com/pomeloctl/pomeloctl/scripting"
)

var (
	typeName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	serverID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)
)

const (
	policies       = "no, on-failure, always"
	filterBuiltins = "serial, time, timeout, toobusy, blacklist"
)

// check validates what each part of the file says on its own; crossCheck then
// looks at the expanded servers together.
func (l *loader) check(t *Topology) {
	l.checkMaster(t)
	l.checkHA(t)
	l.checkGlobalChannel(t.GlobalChannel)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, t.Log.Level) {
		l.errs.add(t.Log.At.Of("level"), "log.level", fmt.Sprintf("unknown log level %q", t.Log.Level), "write debug, info, warn or error")
	}
	if !slices.Contains([]string{"text", "json"}, t.Log.Format) {
		l.errs.add(t.Log.At.Of("format"), "log.format", fmt.Sprintf("unknown log format %q", t.Log.Format), "write text or json")
	}
	if t.PortOffset < -65535 || t.PortOffset > 65535 {
		pos, path := t.At.Of("portOffset"), "portOffset"
		if l.opts.PortOffset != nil {
			pos, path = Pos{File: t.At.Self.File}, "--port-offset"
		}
		l.errs.add(pos, path, fmt.Sprintf("port offset %d is beyond any port", t.PortOffset), "write a number between -65535 and 65535")
	}
	seen := map[string]bool{}
	for i, route := range t.Dictionary {
		path := fmt.Sprintf("dictionary[%d]", i)
		switch {
		case route == "":
			l.errs.add(t.At.Of(path), path, "an empty route", "write a route such as onChat or chat.chatHandler.send")
		case seen[route]:
			l.errs.add(t.At.Of(path), path, fmt.Sprintf("route %q is listed twice", route), "list each route once")
		}
		seen[route] = true
	}
	l.checkProtoFile(t, t.Protos.Server, t.Protos.At.Of("server"), "protos.server")
	l.checkProtoFile(t, t.Protos.Client, t.Protos.At.Of("client"), "protos.client")
	l.checkFilters(t.Filters, "filters")
	l.checkHooks(t.Hooks, "hooks")
	l.checkSmoke(t)
	l.checkWeb(t)
	l.checkGroups(t)
	for _, st := range t.Types {
		l.checkType(t, st)
	}
	if len(t.Types) == 0 && !t.At.Bad("servers") {
		l.errs.add(t.At.Of("servers"), "servers", "no server types are declared", "declare at least one type under servers:, e.g. connector with frontend: true and its instances")
	}
}

func (l *loader) checkMaster(t *Topology) {
	m := t.Master
	l.checkID(m.ID, m.At.Of("id"), "master.id")
	l.checkPort(m.Port, m.At.Of("port"), "master.port")
	if len(m.Users) == 0 {
		l.errs.add(m.At.Of("users"), "master.users", "no admin users: nobody could use the admin API", "declare a user with level: 1, or leave users out for the default admin")
	}
	users := map[string]bool{}
	for i, u := range m.Users {
		path := fmt.Sprintf("master.users[%d]", i)
		if u.Username == "" {
			l.errs.add(u.At.Self, path+".username", "an admin user without a username", "write username: NAME")
		} else if users[u.Username] {
			l.errs.add(u.At.Of("username"), path+".username", fmt.Sprintf("admin user %q is declared twice", u.Username), "give each user its own username")
		}
		users[u.Username] = true
		if u.Password.Value == "" && !u.At.Bad("password") {
			l.errs.add(u.At.Of("password"), path+".password", "an admin user without a password", "write password: ${SOME_ENV_VAR} to keep it out of the file")
		}
		if u.Level < 1 {
			l.errs.add(u.At.Of("level"), path+".level", fmt.Sprintf("level %d is not a level", u.Level), "write level: 1 for a user who may act, 2 for one who may only read")
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(m.Tokens)) {
		if t.Types.Get(typ) == nil {
			l.errs.add(m.At.Of("tokens."+typ), "master.tokens."+typ, fmt.Sprintf("a token for server type %q, which is not declared", typ), t.Types.suggest(typ))
		}
	}
}

func (l *loader) checkHA(t *Topology) {
	ha := t.HA
	if ha == nil {
		return
	}
	for i, addr := range ha.Zookeeper {
		if addr == "managed" && len(ha.Zookeeper) == 1 {
			continue // up runs it (see expand)
		}
		l.checkAddr(addr, ha.At.Of(fmt.Sprintf("zookeeper[%d]", i)), fmt.Sprintf("ha.zookeeper[%d]", i), "a ZooKeeper server", DefaultZookeeper)
	}
	if !strings.HasPrefix(ha.Path, "/") || (len(ha.Path) > 1 && strings.HasSuffix(ha.Path, "/")) || strings.Contains(ha.Path, "//") {
		l.errs.add(ha.At.Of("path"), "ha.path", fmt.Sprintf("%q is not a ZooKeeper path", ha.Path), "write an absolute path such as /pomelo/master")
	}
	if ha.SessionTimeout < Duration(time.Second) {
		l.errs.add(ha.At.Of("sessionTimeout"), "ha.sessionTimeout", fmt.Sprintf("session timeout %s is too short for ZooKeeper", ha.SessionTimeout.D()), "write at least 1s (ZooKeeper's usual minimum is 4s)")
	}
	if ha.At.Has("auth") {
		if user, password, ok := strings.Cut(ha.Auth.Value, ":"); !ok || user == "" || password == "" {
			l.errs.add(ha.At.Of("auth"), "ha.auth", "ZooKeeper digest auth is user:password", `write e.g. auth: "pomelo:${ZK_PASSWORD}"`)
		}
	}
	for i, s := range ha.Standbys {
		path := fmt.Sprintf("ha.standbys[%d]", i)
		if !s.At.Has("id") {
			l.errs.add(s.At.Self, path+".id", "a standby master without an id", fmt.Sprintf("write id: master-server-%d", i+2))
		} else {
			l.checkID(s.ID, s.At.Of("id"), path+".id")
		}
		if !s.At.Has("port") {
			l.errs.add(s.At.Self, path+".port", "a standby master without a port", "write port: the admin port it listens on when it leads")
		} else {
			l.checkPort(s.Port, s.At.Of("port"), path+".port")
		}
	}
}

func (l *loader) checkGlobalChannel(gc *GlobalChannel) {
	if gc == nil {
		return
	}
	if gc.Redis != "managed" { // up runs it (see expand)
		l.checkAddr(gc.Redis, gc.At.Of("redis"), "globalChannel.redis", "a Redis server", DefaultRedis+" (or managed, for one up runs)")
	}
	if gc.TLSCA != "" && !gc.TLS {
		l.errs.add(gc.At.Of("tlsCA"), "globalChannel.tlsCA", "a CA for TLS, but tls is not on", "write tls: true, or remove tlsCA")
	}
	if gc.TLS && gc.Redis == "managed" {
		l.errs.add(gc.At.Of("tls"), "globalChannel.tls", "a managed Redis listens without TLS, on loopback", "remove tls, or point redis at a Redis with TLS")
	}
	if gc.DB < 0 {
		l.errs.add(gc.At.Of("db"), "globalChannel.db", fmt.Sprintf("Redis database %d does not exist", gc.DB), "write 0 or a higher number")
	}
}

func (l *loader) checkAddr(addr string, pos Pos, path, what, example string) {
	host, port, err := net.SplitHostPort(addr)
	p, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
		hint := "write host:port, e.g. " + example
		if strings.Contains(addr, "://") {
			hint = "write host:port without a scheme, e.g. " + example
		}
		l.errs.add(pos, path, fmt.Sprintf("%q is not the address of %s", addr, what), hint)
	}
}

func (l *loader) checkProtoFile(t *Topology, name string, pos Pos, path string) {
	if name == "" {
		return
	}
	file := t.Path(name)
	data, err := os.ReadFile(file)
	if err != nil {
		l.errs.add(pos, path, fmt.Sprintf("cannot read %s: %v", name, errors.Unwrap(err)), "name a pomelo-protobuf JSON file, relative to the topology's folder")
		return
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		l.errs.add(pos, path, fmt.Sprintf("%s is not a JSON object of protos: %v", name, err), "")
	}
}

// Path resolves a path written in the topology (protos, commands) against the
// topology's folder.
func (t *Topology) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(t.File), p)
}

func (l *loader) checkID(id string, pos Pos, path string) {
	if !serverID.MatchString(id) {
		l.errs.add(pos, path, fmt.Sprintf("%q is not a usable id", id), "use letters, digits, '.', '_' and '-', e.g. connector-server-1")
	}
}

func (l *loader) checkPort(port int, pos Pos, path string) {
	if port < 1 || port > 65535 {
		l.errs.add(pos, path, fmt.Sprintf("port %d is out of range", port), "write a port between 1 and 65535")
	}
}

func (l *loader) checkType(t *Topology, st *ServerType) {
	path := "servers." + st.Name
	if !typeName.MatchString(st.Name) {
		l.errs.add(st.At.Self, path, fmt.Sprintf("%q is not a usable server type name", st.Name), "start with a letter and use letters, digits, '_' and '-' (routes are type.handler.method)")
	}
	if len(st.Instances) == 0 && len(st.Clusters) == 0 {
		l.errs.add(st.At.Self, path, fmt.Sprintf("server type %q has no servers", st.Name), "declare instances: or cluster: under it")
	}
	if st.Connector != nil && !st.Frontend {
		l.errs.add(st.At.Of("connector"), path+".connector", "connector options apply to frontends only", "set frontend: true on this type, or remove connector")
	}
	if c := st.Connector; c != nil && st.Frontend {
		l.checkConnector(c, path+".connector")
	}
	l.checkRestart(st.Restart, path+".restart")
	// A command without a slash is looked up on PATH when the server starts.
	if strings.ContainsRune(st.Command, '/') {
		if _, err := os.Stat(t.Path(st.Command)); err != nil {
			l.warn(st.At.Of("command"), "%s: command %s does not exist yet (build it before `pomeloctl up`)", path, st.Command)
		}
	}
	if !st.Router.IsZero() {
		if _, err := scripting.CompileRouter(st.Router.Source); err != nil {
			l.exprError(st.Router, path+".router", err)
		}
	}
	l.checkFilters(st.Filters, path+".filters")
	l.checkHooks(st.Hooks, path+".hooks")
	if !st.Frontend && !st.At.Bad("frontend") {
		for key, e := range map[string]Expr{"onSessionBind": st.Hooks.OnSessionBind, "onSessionClose": st.Hooks.OnSessionClose} {
			if !e.IsZero() {
				l.errs.add(e.Pos, path+".hooks."+key, key+" runs on frontends, where clients' sessions live, and "+st.Name+" is not one", "move it to a frontend type's hooks, or to the top-level hooks")
			}
		}
	}
	l.checkRoutes(st.Handlers, st.At, "handlers", path, func(src string) error { _, err := scripting.CompileHandler(src); return err })
	l.checkRoutes(st.Remotes, st.At, "remotes", path, func(src string) error { _, err := scripting.CompileRemote(src); return err })
	portsKnown := !st.At.Bad("frontend") // else "frontend" was reported, and port checks would only guess
	for i, in := range st.Instances {
		ipath := fmt.Sprintf("%s.instances[%d]", path, i)
		if !in.At.Decoded() {
			continue
		}
		if !in.At.Has("id") {
			l.errs.add(in.At.Self, ipath+".id", "an instance without an id", fmt.Sprintf("write id: %s-server-%d", st.Name, i+1))
		} else {
			l.checkID(in.ID, in.At.Of("id"), ipath+".id")
		}
		if portsKnown {
			l.checkPorts(st, in.At, ipath)
		}
		if in.Restart != nil {
			l.checkRestart(withRestart(*st.Restart, in.Restart), ipath+".restart")
		}
	}
	for i, c := range st.Clusters {
		cpath := fmt.Sprintf("%s.cluster[%d]", path, i)
		if !c.At.Decoded() {
			continue
		}
		switch {
		case !c.At.Has("count"):
			l.errs.add(c.At.Self, cpath+".count", "a cluster without a count", "write count: N, the number of servers (Pomelo's clusterCount)")
		case c.Count < 1:
			l.errs.add(c.At.Of("count"), cpath+".count", fmt.Sprintf("a cluster of %d servers", c.Count), "write count: 1 or more (Pomelo's clusterCount)")
		case c.Count > MaxClusterCount:
			l.errs.add(c.At.Of("count"), cpath+".count", fmt.Sprintf("a cluster of %d servers is more than one group may hold", c.Count), fmt.Sprintf("write at most %d, or split it over hosts", MaxClusterCount))
		}
		if portsKnown {
			l.checkPorts(st, c.At, cpath)
		}
		if c.Restart != nil {
			l.checkRestart(withRestart(*st.Restart, c.Restart), cpath+".restart")
		}
	}
}

// checkPorts checks which ports a server declares for its kind of type.
func (l *loader) checkPorts(st *ServerType, at Positions, path string) {
	switch {
	case st.Frontend && !at.Has("clientPort"):
		l.errs.add(at.Self, path+".clientPort", "a frontend server without a client port", "write clientPort: the port clients connect to")
	case !st.Frontend && at.Has("clientPort"):
		l.errs.add(at.Of("clientPort"), path+".clientPort", "a backend server with a client port", "set frontend: true on the type, or remove clientPort")
	case !st.Frontend && !at.Has("port"):
		l.errs.add(at.Self, path+".port", "a backend server without an RPC port", "write port: the port other servers call it on")
	}
}

// maxFlushInterval bounds how long a push may wait for others: past it,
// players would see the delay.
const maxFlushInterval = time.Second

func (l *loader) checkConnector(c *Connector, path string) {
	seen := map[string]bool{}
	for i, tr := range c.Transports {
		item := fmt.Sprintf("transports[%d]", i)
		switch {
		case tr != "ws" && tr != "tcp":
			l.errs.add(c.At.Of(item), path+"."+item, fmt.Sprintf("unknown transport %q", tr), "write ws (WebSocket), tcp (raw TCP) or both")
		case seen[tr]:
			l.errs.add(c.At.Of(item), path+"."+item, fmt.Sprintf("transport %q is listed twice", tr), "list each transport once")
		}
		seen[tr] = true
	}
	if len(c.Transports) == 0 && !c.At.Bad("transports") {
		l.errs.add(c.At.Of("transports"), path+".transports", "a frontend that accepts no transport", "write [ws, tcp], or leave transports out for both")
	}
	if c.Heartbeat%Duration(time.Second) != 0 {
		l.errs.add(c.At.Of("heartbeat"), path+".heartbeat", fmt.Sprintf("heartbeat %s is not whole seconds", c.Heartbeat.D()), "the client protocol carries the heartbeat in seconds: write e.g. 3s")
	}
	if c.MaxConnections < 0 {
		l.errs.add(c.At.Of("maxConnections"), path+".maxConnections", fmt.Sprintf("maxConnections %d is negative", c.MaxConnections), "write 0 for no limit, or the limit")
	}
	if c.FlushInterval < 0 || c.FlushInterval > Duration(maxFlushInterval) {
		l.errs.add(c.At.Of("flushInterval"), path+".flushInterval", fmt.Sprintf("flushInterval %s is outside 0 to %s", c.FlushInterval.D(), maxFlushInterval), "write 0 to push at once, or a few milliseconds (e.g. 5ms) to gather a client's pushes into one write")
	}
	if c.MaxPackageSize < 16 || c.MaxPackageSize > MaxPackageSizeLimit {
		l.errs.add(c.At.Of("maxPackageSize"), path+".maxPackageSize", fmt.Sprintf("maxPackageSize %d is outside what the protocol can carry", c.MaxPackageSize), "write a size between 16 and 16777215 bytes (the 3-byte length limit), e.g. 64KiB")
	}
}

func (l *loader) checkRestart(r *Restart, path string) {
	if !slices.Contains(strings.Split(policies, ", "), r.Policy) {
		l.errs.add(r.At.Of("policy"), path, fmt.Sprintf("unknown restart policy %q", r.Policy), "write one of: "+policies)
	}
	if r.Force && r.Policy == "no" {
		l.errs.add(r.At.Of("force"), path+".force", "force frees ports before a restart, but the policy never restarts", "write policy: on-failure or always, or remove force")
	}
	switch b := r.Backoff; {
	case b.Initial <= 0:
		l.errs.add(b.At.Of("initial"), path+".backoff.initial", "a back-off that starts at 0 restarts a crashing server in a tight loop", "write an initial delay above 0, e.g. 100ms")
	case b.Max < b.Initial:
		l.errs.add(b.At.Of("max"), path+".backoff.max", fmt.Sprintf("the back-off's max %s is shorter than its initial %s", b.Max.D(), b.Initial.D()), "write a max at least as long as initial, e.g. {initial: 100ms, max: 30s}")
	}
	if r.Wait < 0 {
		l.errs.add(r.At.Of("wait"), path+".wait", fmt.Sprintf("wait %s is negative", r.Wait.D()), "write 0 to fail at once, or how long a request waits for a restarting server, e.g. 5s")
	}
	if r.MaxRestarts < 0 {
		l.errs.add(r.At.Of("maxRestarts"), path+".maxRestarts", fmt.Sprintf("maxRestarts %d is negative", r.MaxRestarts), "write 0 for no limit, or how many restarts within window end in failed")
	}
}

func (l *loader) checkFilters(f Filters, path string) {
	for _, chain := range []struct {
		name string
		list []Filter
	}{{"before", f.Before}, {"after", f.After}} {
		for i, flt := range chain.list {
			fpath := fmt.Sprintf("%s.%s[%d]", path, chain.name, i)
			switch {
			case flt.Name != "" && !flt.Expr.IsZero():
				l.errs.add(flt.At.Self, fpath, "a filter with both a name and an expression", "write either name: (a built-in) or expr: (a predicate)")
			case flt.Name == "" && flt.Expr.IsZero():
				l.errs.add(flt.At.Self, fpath, "a filter with neither a name nor an expression", "write a built-in ("+filterBuiltins+") or expr: PREDICATE")
			case flt.Name != "" && !slices.Contains(strings.Split(filterBuiltins, ", "), flt.Name):
				hint := "built-ins are " + filterBuiltins
				if s := spell.Closest(flt.Name, strings.Split(filterBuiltins, ", ")); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
				l.errs.add(flt.At.Of("name"), fpath+".name", fmt.Sprintf("unknown filter %q", flt.Name), hint)
			}
			for _, key := range []string{"code", "message"} {
				switch {
				case !flt.At.Has(key):
				case flt.Expr.IsZero():
					l.errs.add(flt.At.Of(key), fpath+"."+key, key+" is the error "+key+" of an expression filter", "add expr:, or remove "+key)
				case chain.name == "after":
					l.errs.add(flt.At.Of(key), fpath+"."+key, "an after filter refuses nothing: the request was answered", "move the filter to before:, or remove "+key)
				}
			}
			if flt.At.Has("code") && (flt.Code < 1 || flt.Code == 200) {
				l.errs.add(flt.At.Of("code"), fpath+".code", fmt.Sprintf("code %d reads as a success to clients, but it answers a refused request", flt.Code), "write an error code, e.g. 401 or 403")
			}
			for _, opt := range []struct{ key, filters string }{{"timeout", "timeout, serial"}, {"maxLag", "toobusy"}, {"maxInflight", "toobusy"}, {"uids", "blacklist"}} {
				if flt.At.Has(opt.key) && flt.Name != "" && !slices.Contains(strings.Split(opt.filters, ", "), flt.Name) {
					l.errs.add(flt.At.Of(opt.key), fpath+"."+opt.key, fmt.Sprintf("%s is an option of the %s filter, not of %s", opt.key, strings.ReplaceAll(opt.filters, ", ", " and "), flt.Name), "remove "+opt.key+", or use one of those filters")
				}
			}
			if chain.name == "before" {
				l.compile(flt.Expr, fpath+".expr", func(src string) error { _, err := scripting.CompileFilter(src); return err })
			} else {
				l.compile(flt.Expr, fpath+".expr", func(src string) error { _, err := scripting.CompileAfter(src); return err })
			}
		}
	}
	l.compile(f.OnError, path+".onError", func(src string) error { _, err := scripting.CompileErrorHandler(src); return err })
}

// checkHooks compiles each hook in its environment.
func (l *loader) checkHooks(h Hooks, path string) {
	life := func(src string) error { _, err := scripting.CompileHook(src); return err }
	session := func(src string) error { _, err := scripting.CompileSessionHook(src); return err }
	peer := func(src string) error { _, err := scripting.CompilePeerHook(src); return err }
	l.compile(h.AfterStart, path+".afterStart", life)
	l.compile(h.AfterStartAll, path+".afterStartAll", life)
	l.compile(h.BeforeStop, path+".beforeStop", life)
	l.compile(h.OnSessionBind, path+".onSessionBind", session)
	l.compile(h.OnSessionClose, path+".onSessionClose", session)
	l.compile(h.OnServerAdded, path+".onServerAdded", peer)
	l.compile(h.OnServerRemoved, path+".onServerRemoved", peer)
}

// checkRoutes checks handler and remote names (handler.method) and
// compiles their expressions.
func (l *loader) checkRoutes(routes map[string]Expr, at Positions, key, path string, compile func(string) error) {
	for _, route := range slices.Sorted(maps.Keys(routes)) {
		handler, method, ok := strings.Cut(route, ".")
		if !ok || !identifier.MatchString(handler) || !identifier.MatchString(method) {
			l.errs.add(at.Of(key+"."+route), path+"."+key+"."+route, fmt.Sprintf("%q is not handler.method", route), "write e.g. entryHandler.enter (the type is the first part of the route)")
			continue
		}
		l.compile(routes[route], path+"."+key+"."+route, compile)
	}
}

// compile reports what keeps an expression from compiling in its
// environment, at its place in the file.
func (l *loader) compile(e Expr, path string, compile func(string) error) {
	if e.IsZero() {
		return
	}
	if err := compile(e.Source); err != nil {
		l.exprError(e, path, err)
	}
}

// exprError reports a compile error at its place inside the file.
func (l *loader) exprError(e Expr, path string, err error) {
	var se *scripting.Error
	if errors.As(err, &se) {
		l.errs.add(e.At(se.Line, se.Column), path, se.Msg, se.Hint)
		return
	}
	l.errs.add(e.Pos, path, err.Error(), "")
}
