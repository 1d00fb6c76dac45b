package smoke

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is what a smoke run found: one result per scenario played on its
// own and one per chaos step, in the order they ran.
type Report struct {
	Topology  string           `json:"topology"`
	Profiles  []string         `json:"profiles,omitempty"`
	Started   time.Time        `json:"started"`
	Seconds   float64          `json:"seconds"`
	Passed    bool             `json:"passed"`
	Scenarios []ScenarioResult `json:"scenarios"`
	Chaos     []ChaosResult    `json:"chaos"`
	// Error is what ended the run before its end (its timeout, Ctrl-C).
	Error string `json:"error,omitempty"`
}

// Counts are what a scenario's bots did.
type Counts struct {
	Bots     int   `json:"bots"`
	LoggedIn int64 `json:"loggedIn"` // logins that succeeded, re-logins included
	Requests int64 `json:"requests"` // requests and notifies sent, the gate's included
	Failed   int64 `json:"failed"`   // of those, the ones with an error, an error code or no reply in time
	Pushes   int64 `json:"pushes"`   // pushes waited for and received
	// Disconnects are connections the server ended while a bot played
	// (a kick, a crash); the bot logs in again.
	Disconnects int64 `json:"disconnects"`
	// Dropped are pushes a bot had no room to keep (it hears more than
	// its steps wait for).
	Dropped int64 `json:"droppedPushes,omitempty"`
}

// ScenarioResult is one scenario played on its own.
type ScenarioResult struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Passed  bool    `json:"passed"`
	Counts
	// Failures are the first few, word for word; Counts has them all.
	Failures []Failure `json:"failures,omitempty"`
}

// Failure is one thing that went wrong: which bot, at which step, on
// which server, and why; Log is the end of that server's log.
type Failure struct {
	Bot     string `json:"bot,omitempty"`
	Step    string `json:"step,omitempty"`
	Server  string `json:"server,omitempty"`
	Message string `json:"message"`
	Log     string `json:"log,omitempty"`
}

func (f Failure) String() string {
	var b strings.Builder
	if f.Bot != "" {
		b.WriteString(f.Bot + ": ")
	}
	if f.Step != "" {
		b.WriteString(f.Step + ": ")
	}
	b.WriteString(f.Message)
	if f.Server != "" {
		b.WriteString(" (on " + f.Server + ")")
	}
	return b.String()
}

// ChaosResult is one chaos step: what it did to which server, how long
// the cluster took to come through, and how the scenario playing
// meanwhile fared.
type ChaosResult struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	// Server is the server acted on (the leader, for killLeader).
	Server string `json:"server,omitempty"`
	// Recovered is how long after the act the cluster was whole again:
	// the server running, a new leader, the members back.
	RecoveredSeconds float64 `json:"recoveredSeconds,omitempty"`
	Seconds          float64 `json:"seconds"`
	Passed           bool    `json:"passed"`
	// Error is why the step failed, if it did for a reason of its own
	// (the server not back in time) rather than its scenario's.
	Error string `json:"error,omitempty"`
	// Log is the end of the acted-on server's log when the step failed.
	Log string `json:"log,omitempty"`
	// During is the scenario that played; MaxFailed is how many of its
	// requests could fail (-1: any).
	During    string    `json:"during,omitempty"`
	MaxFailed int       `json:"maxFailed"`
	Counts    *Counts   `json:"counts,omitempty"`
	Failures  []Failure `json:"failures,omitempty"`
}

// WriteText writes the report for a person: a line per scenario and chaos
// step, the failures under each, then the verdict.
func (r *Report) WriteText(w io.Writer) {
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "%s  scenario %s: %s in %.1fs\n", verdict(s.Passed), s.Name, s.Counts, s.Seconds)
		writeFailures(w, s.Failures, s.Failed)
	}
	for _, c := range r.Chaos {
		line := fmt.Sprintf("%s  chaos %s", verdict(c.Passed), c.Name)
		if c.Server != "" {
			line += " (" + c.Server + ")"
		}
		if c.RecoveredSeconds > 0 {
			line += fmt.Sprintf(": back in %.2fs", c.RecoveredSeconds)
		}
		if c.Counts != nil {
			line += fmt.Sprintf("; %s played: %s", c.During, c.Counts)
		}
		fmt.Fprintln(w, line)
		if c.Passed {
			continue // failures it allows (a kill's) are counted above
		}
		if c.Error != "" {
			fmt.Fprintf(w, "      %s\n", c.Error)
		}
		n := int64(len(c.Failures))
		if c.Counts != nil {
			n = c.Counts.Failed
		}
		writeFailures(w, c.Failures, n)
		if c.Log != "" {
			fmt.Fprintf(w, "      the end of %s's log:\n%s", c.Server, indent(c.Log, "        "))
		}
	}
	if r.Error != "" {
		fmt.Fprintf(w, "smoke run ended early: %s\n", r.Error)
	}
	passed, failed := r.tally()
	fmt.Fprintf(w, "smoke %s: %d passed, %d failed in %.1fs\n", map[bool]string{true: "passed", false: "FAILED"}[r.Passed], passed, failed, r.Seconds)
}

func (r *Report) tally() (passed, failed int) {
	count := func(ok bool) {
		if ok {
			passed++
		} else {
			failed++
		}
	}
	for _, s := range r.Scenarios {
		count(s.Passed)
	}
	for _, c := range r.Chaos {
		count(c.Passed)
	}
	return passed, failed
}

func (c Counts) String() string {
	s := fmt.Sprintf("%d bots, %d requests, %d failed, %d pushes", c.Bots, c.Requests, c.Failed, c.Pushes)
	if c.Disconnects > 0 {
		s += fmt.Sprintf(", %d disconnects", c.Disconnects)
	}
	return s
}

func verdict(ok bool) string {
	if ok {
		return "ok  "
	}
	return "FAIL"
}

func writeFailures(w io.Writer, fs []Failure, total int64) {
	for _, f := range fs {
		fmt.Fprintf(w, "      %s\n", f)
		if f.Log != "" {
			fmt.Fprintf(w, "      the end of %s's log:\n%s", f.Server, indent(f.Log, "        "))
		}
	}
	if more := total - int64(len(fs)); more > 0 && len(fs) > 0 {
		fmt.Fprintf(w, "      … and %d more\n", more)
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
