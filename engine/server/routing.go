package server

import (
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// typeRouter is how a request for a server type finds its server: the
// game's Go router (App.Route), the topology's router expression, or
// neither (scripting.DefaultPick), with what each needs of a request.
type typeRouter struct {
	pick Router // nil: DefaultPick, which needs only the session's uid and id
	// msg: the router reads the request's message, which must then be
	// decoded for it. A Go router may; an expression says.
	msg bool
	// cloned: the router is handed a copy of the candidates it may change.
	cloned bool
}

// routers are every server type's routers, compiled once, before the
// server starts. A type routed both by the game's Go code and by an
// expression in the topology is refused: which one routes would be a
// guess.
func routers(t *topology.Topology, app *App) (map[string]typeRouter, error) {
	out := map[string]typeRouter{}
	for _, st := range t.Types {
		goRouter := app.gameRouter(st.Name)
		switch {
		case goRouter != nil && !st.Router.IsZero():
			return nil, &topology.Error{Pos: st.At.Of("router"), Path: "servers." + st.Name + ".router",
				Msg: "the game's Go code routes " + st.Name + " too (App.Route)", Hint: "keep one of the two"}
		case goRouter != nil:
			out[st.Name] = typeRouter{pick: goRouter, msg: true, cloned: true}
		case !st.Router.IsZero():
			r, err := scripting.CompileRouter(st.Router.Source)
			if err != nil {
				// validate reports it at the expression's line and column.
				return nil, &topology.Error{Pos: st.At.Of("router"), Path: "servers." + st.Name + ".router", Msg: err.Error()}
			}
			out[st.Name] = typeRouter{pick: r.Pick, msg: r.ReadsMsg()}
		}
	}
	if app != nil {
		// A Go router for a type the topology does not declare routes
		// nothing, but is kept: a server of that type may be added.
		for typ, r := range app.routers {
			if _, ok := out[typ]; !ok {
				out[typ] = typeRouter{pick: r, msg: true, cloned: true}
			}
		}
	}
	return out, nil
}
