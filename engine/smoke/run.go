package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/pomeloctl/pomeloctl/topology"
)

// Options shape a run.
type Options struct {
	// Progress gets a line as each scenario and chaos step starts and
	// ends; nil for none.
	Progress io.Writer
	// RunID goes into the bots' names, so that a run's players never meet
	// a previous run's in a room; default the time.
	RunID string
	// Profiles are named in the report.
	Profiles []string
}

// Run plays t's smoke section against the running cluster c: every
// scenario on its own, in order, then every chaos step. It always returns
// a report; Passed says whether everything held.
func Run(ctx context.Context, t *topology.Topology, c Cluster, opts Options) *Report {
	r := &Report{Topology: t.File, Profiles: opts.Profiles, Started: time.Now(), Scenarios: []ScenarioResult{}, Chaos: []ChaosResult{}}
	defer func() {
		r.Seconds = time.Since(r.Started).Seconds()
		passed, failed := r.tally()
		r.Passed = r.Error == "" && failed == 0 && passed > 0
	}()
	s := t.Smoke
	if s == nil {
		r.Error = "the topology declares no smoke section"
		return r
	}
	if opts.RunID == "" {
		opts.RunID = strconv.FormatInt(time.Now().Unix()%100000, 36)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout.D())
	defer cancel()
	p := &player{t: t, cluster: c, run: opts.RunID, progress: opts.Progress, scenarios: map[string]*scenario{}}
	for _, spec := range s.Scenarios {
		sc, err := compileScenario(spec)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		p.scenarios[spec.Name] = sc
	}
	for _, spec := range s.Scenarios {
		p.say("scenario %s: %d bots", spec.Name, spec.Bots)
		res := p.scenario(ctx, p.scenarios[spec.Name], nil)
		res.Passed = res.Failed == 0 && res.Disconnects == 0 && res.LoggedIn >= int64(res.Bots)
		p.say("scenario %s: %s", spec.Name, map[bool]string{true: "ok", false: "FAILED"}[res.Passed])
		r.Scenarios = append(r.Scenarios, res)
		if ctx.Err() != nil {
			break
		}
	}
	for _, step := range s.Chaos {
		if ctx.Err() != nil {
			break
		}
		p.say("chaos %s", step.Title())
		res := p.chaos(ctx, step)
		p.say("chaos %s: %s", step.Title(), map[bool]string{true: "ok", false: "FAILED"}[res.Passed])
		r.Chaos = append(r.Chaos, res)
	}
	if err := ctx.Err(); err != nil {
		r.Error = "stopped"
		if errors.Is(err, context.DeadlineExceeded) {
			r.Error = fmt.Sprintf("the run took longer than smoke.timeout (%s)", s.Timeout.D())
		}
	}
	return r
}

// player plays one run's scenarios.
type player struct {
	t         *topology.Topology
	cluster   Cluster
	run       string
	progress  io.Writer
	scenarios map[string]*scenario

	mu sync.Mutex // progress lines
}

func (p *player) say(format string, args ...any) {
	if p.progress == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.progress, format+"\n", args...)
}

// scenario plays sc with all its bots, concurrency at a time. With stop
// (a chaos step's) each bot plays its loop until stop is closed,
// whatever its duration; ready is closed once every bot is in or has
// given up.
func (p *player) scenario(ctx context.Context, sc *scenario, chaos *chaosPlay) ScenarioResult {
	start := time.Now()
	st := &stats{}
	res := ScenarioResult{Name: sc.spec.Name}
	e, err := newEntry(p.t, sc)
	if err != nil {
		res.Counts = st.counts(sc.spec.Bots)
		res.Failed++
		res.Failures = []Failure{{Message: err.Error()}}
		return res
	}
	slots := sc.spec.Concurrency
	if slots <= 0 || slots > sc.spec.Bots {
		slots = sc.spec.Bots
	}
	sem := make(chan struct{}, slots)
	var wg, entered sync.WaitGroup
	entered.Add(sc.spec.Bots)
	for i := range sc.spec.Bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				entered.Done()
				return
			}
			defer func() { <-sem }()
			b := newBot(sc, e, i, p.run)
			defer b.close()
			p.playBot(ctx, b, st, chaos, entered.Done)
		}()
	}
	if chaos != nil {
		go func() { entered.Wait(); close(chaos.ready) }()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Counts = st.counts(sc.spec.Bots)
	res.Failures = p.withLogs(st.failuresKept())
	return res
}

// chaosPlay is a scenario playing through a chaos step.
type chaosPlay struct {
	stop  chan struct{} // closed when the step is over
	ready chan struct{} // closed once every bot is in
}

// relogin is how long a bot waits before logging in again after its
// connection went, at first and at most.
const (
	reloginFirst = 100 * time.Millisecond
	reloginMax   = time.Second
)

// playBot logs b in and plays its steps, then its loop for the
// scenario's duration (or the chaos step's), logging in again when its
// connection goes. in is called once, when the bot is first in or gives
// up.
func (p *player) playBot(ctx context.Context, b *bot, st *stats, chaos *chaosPlay, in func()) {
	var once sync.Once
	entered := func() { once.Do(in) }
	defer entered()
	spec := b.sc.spec
	deadline := time.Now().Add(spec.Duration.D())
	more := func() bool {
		if ctx.Err() != nil {
			return false
		}
		if chaos != nil {
			select {
			case <-chaos.stop:
				return false
			default:
				return true
			}
		}
		return time.Now().Before(deadline)
	}
	wait := reloginFirst
	first := true
	for {
		if !b.connected() {
			if !first {
				st.disconnects.Add(1)
				if chaos == nil {
					st.record(Failure{Bot: b.env.Bot.Name, Server: b.frontend, Message: "disconnected: " + b.lostWhy()})
				}
			}
			err := b.login(ctx, st)
			if err == nil {
				st.loggedIn.Add(1)
				err = b.play(ctx, b.sc.steps, st)
			}
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				p.fail(b, st, err, chaos != nil)
				if first && chaos == nil || !more() {
					return
				}
				first = false
				b.close()
				sleep(ctx, wait)
				wait = min(2*wait, reloginMax)
				continue
			}
			wait = reloginFirst
			first = false
			entered()
		}
		if len(b.sc.loop) == 0 {
			return
		}
		err := b.play(ctx, b.sc.loop, st)
		b.env.Bot.Iteration++
		if err != nil && ctx.Err() == nil {
			p.fail(b, st, err, chaos != nil)
		}
		if !more() {
			return
		}
		if err != nil && b.connected() {
			if chaos == nil {
				return // a failed pass would fail the same way again
			}
			// Through a chaos step the cluster is expected back: try
			// again, at a pace that does not flood it meanwhile.
			sleep(ctx, reloginFirst)
		}
	}
}

// fail counts and keeps a step's failure. A step cut short by the
// connection going is the disconnect's, counted when the bot logs in
// again; a request it cut short failed (do counted it).
func (p *player) fail(b *bot, st *stats, err error, chaos bool) {
	var re *requestError
	if chaos && !errors.As(err, &re) && b.c != nil && !b.connected() {
		return
	}
	st.failed()
	f := Failure{Bot: b.env.Bot.Name, Server: b.frontend, Message: err.Error()}
	var se *stepError
	if errors.As(err, &se) {
		f.Step, f.Message = se.step, se.err.Error()
		if se.frontend != "" {
			f.Server = se.frontend
		}
	}
	st.record(f)
}

// withLogs adds the end of the log of the first few failures' servers.
func (p *player) withLogs(fs []Failure) []Failure {
	seen := map[string]bool{}
	for i := range fs {
		id := fs[i].Server
		if id == "" || seen[id] || len(seen) >= 3 {
			continue
		}
		seen[id] = true
		fs[i].Log = p.cluster.LogTail(id)
	}
	return fs
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
