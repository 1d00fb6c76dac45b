package server

import (
	"errors"
	"fmt"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Plan is one server of a topology resolved with the game's code, before
// anything starts: the routers of every type, compiled, and, for a
// frontend, its route dictionary and protos, read. Run builds one and runs
// it; Check builds every server's without starting any, so that a topology
// is refused (by validate, by up, by the server itself) for the same
// reasons wherever it is checked.
type Plan struct {
	Topology *topology.Topology
	Server   *topology.Server
	App      *App // nil for none (pomeloctl serve)

	routers      map[string]typeRouter
	scripts      *scripts             // its type's handlers, remotes and hooks in expr
	filters      *filters             // a frontend's: what requests pass before and after
	dict         *protocol.Dictionary // a frontend that uses one
	serverProtos *protobuf.Protos     // a frontend that uses protobuf
	clientProtos *protobuf.Protos
}

// NewPlan resolves server id of t with app's code.
func NewPlan(t *topology.Topology, id string, app *App) (*Plan, error) {
	s := t.Server(id)
	if s == nil {
		return nil, fmt.Errorf("no server %q in %s", id, t.File)
	}
	p := &Plan{Topology: t, Server: s, App: app}
	if err := declaredTwice(t, app); err != nil {
		return nil, err
	}
	var err error
	if p.routers, err = routers(t, app); err != nil {
		return nil, err
	}
	if p.scripts, err = compileScripts(t, s.Type); err != nil {
		return nil, err
	}
	if !s.Frontend {
		return p, nil
	}
	if p.filters, err = buildFilters(t, app); err != nil {
		return nil, err
	}
	c := t.Types.Get(s.Type).Connector
	if c.UseDict {
		if p.dict, err = protocol.NewDictionary(HandlerRoutes(t, app), t.Dictionary); err != nil {
			return nil, fmt.Errorf("route dictionary: %w", err)
		}
	}
	if c.UseProtobuf {
		if p.serverProtos, err = readProtos(t, t.Protos.Server); err != nil {
			return nil, err
		}
		if p.clientProtos, err = readProtos(t, t.Protos.Client); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Check builds the plan of every server of t with app's code and says what
// keeps any from starting, and what t declares that the runtime does not
// do yet, each at its place in the file; nil when every server can start.
func Check(t *topology.Topology, app *App) error {
	var list topology.ErrorList
	seen := map[string]bool{}
	for _, s := range t.AllServers() {
		_, err := NewPlan(t, s.ID, app)
		if err == nil || seen[err.Error()] {
			continue // the servers of a type share their problems: one line each
		}
		seen[err.Error()] = true
		var te *topology.Error
		if !errors.As(err, &te) {
			te = &topology.Error{Pos: topology.Pos{File: t.File}, Path: s.ID, Msg: err.Error()}
		}
		list = append(list, te)
	}
	return list.Err()
}

// declaredTwice finds a handler or remote route that the topology writes
// as an expression and the game's Go code registers too: which one would
// answer is a guess. (Twice in the topology is a load error already.)
func declaredTwice(t *topology.Topology, app *App) error {
	if app == nil {
		return nil
	}
	for _, st := range t.Types {
		for _, kind := range []struct {
			key    string
			routes map[string]topology.Expr
			inGo   func(route string) bool
		}{
			{"handlers", st.Handlers, func(r string) bool { _, h := app.handlers[r]; _, f := app.frontend[r]; return h || f }},
			{"remotes", st.Remotes, func(r string) bool { _, ok := app.remotes[r]; return ok }},
		} {
			for name := range kind.routes {
				if route := st.Name + "." + name; kind.inGo(route) {
					return &topology.Error{Pos: st.At.Of(kind.key + "." + name), Path: "servers." + st.Name + "." + kind.key + "." + name,
						Msg: route + " is declared here and in the game's Go code too", Hint: "keep one of the two"}
				}
			}
		}
	}
	return nil
}
