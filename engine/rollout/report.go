package rollout

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// A rollout's states.
const (
	StateRunning    = "running"
	StateDone       = "done"
	StateFailed     = "failed"
	StateRolledBack = "rolled back"
)

// A group's outcomes.
const (
	OutcomeReplaced   = "replaced"
	OutcomeRolledBack = "rolled back"
	OutcomeFailed     = "failed"
)

// Report is a rollout as it goes and once it is over: what the run
// directory's rollout.json holds for `rollout status` and `rollout resume`.
type Report struct {
	Topology string    `json:"topology"`
	Profiles []string  `json:"profiles,omitempty"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	Seconds  float64   `json:"seconds,omitempty"`
	State    string    `json:"state"`
	// Current and Step are the group being replaced and what it is at
	// (drain, replace, check, roll back).
	Current string        `json:"current,omitempty"`
	Step    string        `json:"step,omitempty"`
	Groups  []GroupResult `json:"groups"`
	Error   string        `json:"error,omitempty"`
	// Pid and PidStart are the process running the rollout (its start
	// time tells it from a later process with its pid), while it runs.
	Pid      int    `json:"pid,omitempty"`
	PidStart uint64 `json:"pidStart,omitempty"`
}

// GroupResult is one group's rollout.
type GroupResult struct {
	Group        string   `json:"group"`
	Servers      []string `json:"servers"`
	Outcome      string   `json:"outcome"`
	DrainSeconds float64  `json:"drainSeconds,omitempty"`
	// Kicked are the players still on its frontends at the drain's
	// deadline, whom their restart kicked.
	Kicked  int     `json:"kicked"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer) {
	for _, g := range r.Groups {
		line := fmt.Sprintf("group %s: %s (%s) in %.1fs", g.Group, g.Outcome, strings.Join(g.Servers, ", "), g.Seconds)
		if g.DrainSeconds > 0 {
			line += fmt.Sprintf("; drained %.1fs, %d players kicked", g.DrainSeconds, g.Kicked)
		}
		fmt.Fprintln(w, line)
		if g.Error != "" {
			fmt.Fprintf(w, "  %s\n", g.Error)
		}
	}
	if r.Current != "" {
		fmt.Fprintf(w, "group %s: %s\n", r.Current, r.Step)
	}
	fmt.Fprintf(w, "rollout %s", r.State)
	if r.Seconds > 0 {
		fmt.Fprintf(w, " in %.1fs", r.Seconds)
	}
	if r.Error != "" {
		fmt.Fprintf(w, ": %s", r.Error)
	}
	fmt.Fprintln(w)
}
