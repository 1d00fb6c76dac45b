package topology

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/scripting"
)

// Smoke is what `pomeloctl smoke` runs against the cluster it brings up:
// scenarios of bots playing, then chaos steps, each checked.
type Smoke struct {
	// Timeout bounds the whole run once the cluster is up.
	Timeout   Duration        `yaml:"timeout" json:"timeout"`
	Scenarios []SmokeScenario `yaml:"scenarios" json:"scenarios,omitempty"`
	Chaos     []ChaosStep     `yaml:"chaos" json:"chaos,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// SmokeScenario is a number of bots that each log in and go through the
// same steps.
type SmokeScenario struct {
	Name string `yaml:"name" json:"name"`
	Bots int    `yaml:"bots" json:"bots"`
	// Concurrency is how many bots play at once; 0 is all of them.
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`
	// Duration is how long each bot goes through its loop, again and
	// again; 0 is once.
	Duration  Duration   `yaml:"duration" json:"duration,omitzero"`
	Transport string     `yaml:"transport" json:"transport"`
	Login     SmokeLogin `yaml:"login" json:"login"`
	// Steps are what a bot does once it is in; Loop, what it does then,
	// over and over for Duration (or while a chaos step plays it), once
	// when there is no Duration.
	Steps []SmokeStep `yaml:"steps" json:"steps,omitempty"`
	Loop  []SmokeStep `yaml:"loop" json:"loop,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// SmokeLogin is how a bot reaches a frontend: through a gate, which
// answers {host, port} of the frontend to use (Pomelo's queryEntry), or
// straight to the servers of a frontend type, bot i to server i mod n.
type SmokeLogin struct {
	Gate     string `yaml:"gate" json:"gate,omitempty"`   // a frontend type
	Route    string `yaml:"route" json:"route,omitempty"` // the gate's route
	Msg      Expr   `yaml:"msg" json:"msg,omitzero"`      // what the bot sends the gate
	Frontend string `yaml:"frontend" json:"frontend,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// SmokeStep is one thing a bot does: a request, a notify, waiting for a
// push, or a pause.
type SmokeStep struct {
	Name    string   `yaml:"name" json:"name,omitempty"`
	Request string   `yaml:"request" json:"request,omitempty"`
	Notify  string   `yaml:"notify" json:"notify,omitempty"`
	Push    string   `yaml:"push" json:"push,omitempty"`
	Sleep   Duration `yaml:"sleep" json:"sleep,omitzero"`
	// Msg is the body of a request or notify, computed for each bot.
	Msg Expr `yaml:"msg" json:"msg,omitzero"`
	// Expect must be true of the reply, or of the push waited for (pushes
	// on the route that do not match are passed over).
	Expect Expr `yaml:"expect" json:"expect,omitzero"`
	// Save keeps values for the bot's later steps, as state.KEY.
	Save    map[string]Expr `yaml:"save" json:"save,omitempty"`
	Timeout Duration        `yaml:"timeout" json:"timeout,omitzero"`

	At Positions `yaml:"-" json:"-"`
}

// Kind is what the step does: request, notify, push or sleep.
func (s SmokeStep) Kind() string {
	switch {
	case s.Request != "":
		return "request"
	case s.Notify != "":
		return "notify"
	case s.Push != "":
		return "push"
	}
	return "sleep"
}

// Route is the step's route; empty for a sleep.
func (s SmokeStep) Route() string { return s.Request + s.Notify + s.Push }

// ChaosStep does one harmful thing to the running cluster, with a
// scenario playing throughout when During names one, and checks that the
// cluster comes through.
type ChaosStep struct {
	Name string `yaml:"name" json:"name,omitempty"`
	// Kill sends SIGKILL to a server (an id, or a type: its first running
	// server); it must run again within Within.
	Kill string `yaml:"kill" json:"kill,omitempty"`
	// Stop stops a server gracefully, then starts it again: no request of
	// the scenario playing may fail.
	Stop string `yaml:"stop" json:"stop,omitempty"`
	// KillLeader sends SIGKILL to the leading master; a standby must lead
	// within Within.
	KillLeader bool `yaml:"killLeader" json:"killLeader,omitempty"`
	// RestartRedis restarts the managed Redis empty; the members of every
	// global channel must be back within Within.
	RestartRedis bool `yaml:"restartRedis" json:"restartRedis,omitempty"`
	// During is the scenario that plays while the step acts.
	During string   `yaml:"during" json:"during,omitempty"`
	Within Duration `yaml:"within" json:"within"`
	// MaxFailed is how many of the scenario's requests may fail; a kill
	// takes down the players of what it kills, so it allows any unless
	// this says otherwise; the other steps allow none.
	MaxFailed *int `yaml:"maxFailed" json:"maxFailed,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// Action is what the step does: kill, stop, killLeader or restartRedis.
func (c ChaosStep) Action() string {
	var out []string
	for _, a := range []struct {
		name string
		set  bool
	}{{"kill", c.Kill != ""}, {"stop", c.Stop != ""}, {"killLeader", c.KillLeader}, {"restartRedis", c.RestartRedis}} {
		if a.set {
			out = append(out, a.name)
		}
	}
	return strings.Join(out, ", ")
}

// Title is how reports name the step: its name, or what it does.
func (c ChaosStep) Title() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Kill != "":
		return "kill " + c.Kill
	case c.Stop != "":
		return "stop " + c.Stop
	}
	return c.Action()
}

// Smoke's defaults.
const (
	DefaultSmokeTimeout  = 5 * time.Minute
	DefaultChaosWithin   = 10 * time.Second
	DefaultStepTimeout   = 5 * time.Second
	DefaultGateRoute     = "gate.gateHandler.queryEntry"
	DefaultGateLoginExpr = "{uid: bot.name}"
)

func (s *Smoke) setDefaults() {
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultSmokeTimeout)
	}
	for i := range s.Scenarios {
		sc := &s.Scenarios[i]
		if sc.Bots == 0 && !sc.At.Has("bots") {
			sc.Bots = 1
		}
		if sc.Transport == "" {
			sc.Transport = "ws"
		}
		if sc.Login.Gate != "" {
			if sc.Login.Route == "" {
				sc.Login.Route = DefaultGateRoute
			}
			if sc.Login.Msg.IsZero() {
				sc.Login.Msg = Expr{Source: DefaultGateLoginExpr}
			}
		}
		for _, steps := range [][]SmokeStep{sc.Steps, sc.Loop} {
			for j := range steps {
				if steps[j].Timeout == 0 {
					steps[j].Timeout = Duration(DefaultStepTimeout)
				}
			}
		}
	}
	for i := range s.Chaos {
		if s.Chaos[i].Within == 0 {
			s.Chaos[i].Within = Duration(DefaultChaosWithin)
		}
	}
}

func (l *loader) checkSmoke(t *Topology) {
	s := t.Smoke
	if s == nil {
		return
	}
	if s.Timeout < 0 {
		l.errs.add(s.At.Of("timeout"), "smoke.timeout", "a negative timeout", "write how long the whole run may take, e.g. 5m")
	}
	if len(s.Scenarios) == 0 && len(s.Chaos) == 0 {
		l.errs.add(s.At.Self, "smoke", "a smoke section with nothing to run", "declare scenarios: (bots that play) and, if you want, chaos: steps")
	}
	names := map[string]bool{}
	for i := range s.Scenarios {
		sc := &s.Scenarios[i]
		path := fmt.Sprintf("smoke.scenarios[%d]", i)
		switch {
		case sc.Name == "":
			l.errs.add(sc.At.Self, path+".name", "a scenario without a name", "write name: NAME; reports and chaos steps' during: use it")
		case names[sc.Name]:
			l.errs.add(sc.At.Of("name"), path+".name", fmt.Sprintf("scenario %q is declared twice", sc.Name), "give each scenario its own name")
		}
		names[sc.Name] = true
		l.checkScenario(t, sc, path)
	}
	for i, c := range s.Chaos {
		path := fmt.Sprintf("smoke.chaos[%d]", i)
		l.checkChaos(t, c, names, path)
	}
}

func (l *loader) checkScenario(t *Topology, sc *SmokeScenario, path string) {
	if sc.Bots < 1 {
		l.errs.add(sc.At.Of("bots"), path+".bots", fmt.Sprintf("%d bots", sc.Bots), "write how many bots play, 1 or more")
	}
	if sc.Concurrency < 0 {
		l.errs.add(sc.At.Of("concurrency"), path+".concurrency", fmt.Sprintf("concurrency %d is negative", sc.Concurrency), "write how many bots play at once, or 0 for all of them")
	}
	if sc.Duration < 0 {
		l.errs.add(sc.At.Of("duration"), path+".duration", "a negative duration", "write how long each bot plays its steps over and over, or leave it out to play them once")
	}
	if sc.Transport != "ws" && sc.Transport != "tcp" {
		l.errs.add(sc.At.Of("transport"), path+".transport", fmt.Sprintf("unknown transport %q", sc.Transport), "write ws (WebSocket) or tcp")
	}
	l.checkLogin(t, sc.Login, path+".login", sc.At)
	if len(sc.Steps) == 0 && len(sc.Loop) == 0 {
		l.errs.add(sc.At.Self, path+".steps", "a scenario without steps", "list what each bot does under steps: (once) or loop: (over and over): request:, notify:, push: (wait for one) or sleep:")
	}
	if sc.Duration > 0 && len(sc.Loop) == 0 {
		l.errs.add(sc.At.Of("duration"), path+".duration", "duration repeats the loop, and this scenario has none", "move the steps to repeat under loop:, or take duration out")
	}
	for j, st := range sc.Steps {
		l.checkStep(t, st, fmt.Sprintf("%s.steps[%d]", path, j))
	}
	for j, st := range sc.Loop {
		l.checkStep(t, st, fmt.Sprintf("%s.loop[%d]", path, j))
	}
}

// compileSmoke checks a smoke expression, as l.compile wants it.
func compileSmoke(src string) error {
	_, err := scripting.CompileSmoke(src)
	return err
}

func (l *loader) checkLogin(t *Topology, lg SmokeLogin, path string, parent Positions) {
	switch {
	case lg.Gate == "" && lg.Frontend == "":
		l.errs.add(parent.Of("login"), path, "bots have no way in", "write login: {gate: TYPE} to ask a gate for a frontend, or login: {frontend: TYPE} to connect to its servers")
	case lg.Gate != "" && lg.Frontend != "":
		l.errs.add(lg.At.Of("frontend"), path+".frontend", "both a gate and a frontend", "write gate: (a bot asks it which frontend to use) or frontend:, not both")
	}
	for _, k := range []struct{ key, typ string }{{"gate", lg.Gate}, {"frontend", lg.Frontend}} {
		if k.typ == "" {
			continue
		}
		st := t.Types.Get(k.typ)
		switch {
		case st == nil:
			l.errs.add(lg.At.Of(k.key), path+"."+k.key, fmt.Sprintf("server type %q is not declared", k.typ), t.Types.suggest(k.typ))
		case !st.Frontend:
			l.errs.add(lg.At.Of(k.key), path+"."+k.key, fmt.Sprintf("server type %q is not a frontend: bots cannot connect to it", k.typ), "name a type with frontend: true")
		}
	}
	if lg.Gate != "" {
		l.checkSmokeRoute(t, lg.Route, lg.At.Of("route"), path+".route", true)
		l.compile(lg.Msg, path+".msg", compileSmoke)
	} else if lg.Route != "" || !lg.Msg.IsZero() {
		l.errs.add(lg.At.Of("route"), path+".route", "route and msg are what a bot sends a gate, and there is none", "write gate: TYPE, or take route: and msg: out")
	}
}

func (l *loader) checkStep(t *Topology, st SmokeStep, path string) {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"request", st.Request != ""}, {"notify", st.Notify != ""}, {"push", st.Push != ""}, {"sleep", st.Sleep != 0}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
		l.errs.add(st.At.Self, path, "a step that does nothing", "write one of request: ROUTE, notify: ROUTE, push: ROUTE (wait for it) or sleep: DURATION")
		return
	case 1:
	default:
		l.errs.add(st.At.Of(kinds[1]), path+"."+kinds[1], "a step does one thing, and this one says "+strings.Join(kinds, " and "), "split it into one step each")
		return
	}
	kind := kinds[0]
	switch kind {
	case "request", "notify":
		l.checkSmokeRoute(t, st.Route(), st.At.Of(kind), path+"."+kind, true)
	case "push":
		l.checkSmokeRoute(t, st.Push, st.At.Of("push"), path+".push", false)
	case "sleep":
		if st.Sleep < 0 {
			l.errs.add(st.At.Of("sleep"), path+".sleep", "a negative sleep", "write how long the bot waits, e.g. 500ms")
		}
	}
	if !st.Msg.IsZero() && kind != "request" && kind != "notify" {
		l.errs.add(st.At.Of("msg"), path+".msg", "msg is what a request or notify sends, and this step is a "+kind, "take msg out, or make the step a request")
	}
	if !st.Expect.IsZero() && kind != "request" && kind != "push" {
		l.errs.add(st.At.Of("expect"), path+".expect", "expect checks a reply or a push, and a "+kind+" has neither", "take expect out")
	}
	if len(st.Save) > 0 && kind != "request" && kind != "push" {
		l.errs.add(st.At.Of("save"), path+".save", "save keeps values from a reply or a push, and a "+kind+" has neither", "take save out")
	}
	if st.Timeout < 0 {
		l.errs.add(st.At.Of("timeout"), path+".timeout", "a negative timeout", "write how long the reply or push may take, e.g. 5s")
	}
	l.compile(st.Msg, path+".msg", compileSmoke)
	l.compile(st.Expect, path+".expect", compileSmoke)
	for _, key := range slices.Sorted(maps.Keys(st.Save)) {
		if !identifier.MatchString(key) {
			l.errs.add(st.At.Of("save."+key), path+".save."+key, fmt.Sprintf("%q cannot be read back as state.%s", key, key), "name it with letters, digits and _")
		}
		l.compile(st.Save[key], path+".save."+key, compileSmoke)
	}
}

// checkChaosTargets checks the servers chaos steps name, once the
// servers are expanded (a cluster's ids are made then).
func (l *loader) checkChaosTargets(t *Topology) {
	if t.Smoke == nil {
		return
	}
	for i, c := range t.Smoke.Chaos {
		for _, k := range []struct{ key, target string }{{"kill", c.Kill}, {"stop", c.Stop}} {
			if k.target != "" && t.Server(k.target) == nil && t.Types.Get(k.target) == nil {
				l.errs.add(c.At.Of(k.key), fmt.Sprintf("smoke.chaos[%d].%s", i, k.key), fmt.Sprintf("no server or server type %q", k.target), "name a server id or a type of the topology")
			}
		}
	}
}

// checkSmokeRoute checks a route a bot sends (type.handler.method, of a
// declared type) or waits for (any name).
func (l *loader) checkSmokeRoute(t *Topology, route string, pos Pos, path string, sent bool) {
	if !sent {
		if strings.TrimSpace(route) == "" {
			l.errs.add(pos, path, "an empty route", "write the push's route, e.g. onChat")
		}
		return
	}
	parts := strings.Split(route, ".")
	if len(parts) != 3 || !typeName.MatchString(parts[0]) || !identifier.MatchString(parts[1]) || !identifier.MatchString(parts[2]) {
		l.errs.add(pos, path, fmt.Sprintf("%q is not type.handler.method", route), "write e.g. connector.entryHandler.enter")
		return
	}
	if t.Types.Get(parts[0]) == nil {
		l.errs.add(pos, path, fmt.Sprintf("route %q is for server type %q, which is not declared", route, parts[0]), t.Types.suggest(parts[0]))
	}
}

func (l *loader) checkChaos(t *Topology, c ChaosStep, scenarios map[string]bool, path string) {
	action := c.Action()
	switch {
	case action == "":
		l.errs.add(c.At.Self, path, "a chaos step that does nothing", "write one of kill: SERVER, stop: SERVER, killLeader: true or restartRedis: true")
		return
	case strings.Contains(action, ","):
		l.errs.add(c.At.Self, path, "a chaos step does one thing, and this one says "+action, "split it into one step each")
		return
	}
	if c.KillLeader && (t.HA == nil || len(t.Masters()) < 2) {
		l.errs.add(c.At.Of("killLeader"), path+".killLeader", "killing the leader needs a standby to take over, and the topology declares none", "declare ha: with standbys, or take the step out (a profile can add it only where ha is declared: ifDeclared)")
	}
	if c.RestartRedis && (t.GlobalChannel == nil || t.GlobalChannel.Redis != "managed" && !t.GlobalChannel.Managed) {
		l.errs.add(c.At.Of("restartRedis"), path+".restartRedis", "only a managed Redis can be restarted by the smoke run", "declare globalChannel: {redis: managed}, or take the step out")
	}
	if c.During != "" && !scenarios[c.During] {
		l.errs.add(c.At.Of("during"), path+".during", fmt.Sprintf("no scenario %q", c.During), "name one of smoke.scenarios")
	}
	if c.Within < 0 {
		l.errs.add(c.At.Of("within"), path+".within", "a negative time", "write how long the cluster has to come through, e.g. 10s")
	}
	if c.MaxFailed != nil && *c.MaxFailed < 0 {
		l.errs.add(c.At.Of("maxFailed"), path+".maxFailed", "a negative number of requests", "write 0 or more")
	}
}
