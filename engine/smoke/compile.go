package smoke

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

type program = *scripting.Program[scripting.SmokeEnv]

// scenario is a topology scenario with its expressions compiled once.
type scenario struct {
	spec        topology.SmokeScenario
	loginMsg    program
	steps, loop []step
}

type step struct {
	spec   topology.SmokeStep
	title  string
	msg    program
	expect program
	save   []saved
}

type saved struct {
	key string
	val program
}

// compileScenario compiles what validate has checked already; an error
// here is a topology that was not loaded through topology.Load.
func compileScenario(sc topology.SmokeScenario) (*scenario, error) {
	out := &scenario{spec: sc}
	var err error
	comp := func(e topology.Expr, what string) program {
		if e.IsZero() || err != nil {
			return nil
		}
		p, cerr := scripting.CompileSmoke(e.Source)
		if cerr != nil {
			err = fmt.Errorf("scenario %s: %s: %w", sc.Name, what, cerr)
		}
		return p
	}
	out.loginMsg = comp(sc.Login.Msg, "login.msg")
	compileSteps := func(list []topology.SmokeStep, key string) []step {
		var steps []step
		for i, s := range list {
			st := step{spec: s, title: stepTitle(key, i, s)}
			st.msg = comp(s.Msg, st.title+": msg")
			st.expect = comp(s.Expect, st.title+": expect")
			for _, k := range slices.Sorted(maps.Keys(s.Save)) {
				st.save = append(st.save, saved{k, comp(s.Save[k], st.title+": save."+k)})
			}
			steps = append(steps, st)
		}
		return steps
	}
	out.steps, out.loop = compileSteps(sc.Steps, "step"), compileSteps(sc.Loop, "loop step")
	return out, err
}

func stepTitle(key string, i int, s topology.SmokeStep) string {
	what := s.Name
	switch {
	case what != "":
	case s.Kind() == "sleep":
		what = "sleep " + s.Sleep.D().String()
	default:
		what = s.Kind() + " " + s.Route()
	}
	return fmt.Sprintf("%s %d (%s)", key, i+1, what)
}
