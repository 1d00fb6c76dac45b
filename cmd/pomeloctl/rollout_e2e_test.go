package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/rollout"
)

// twoGroups is the chat example in two groups written into the topology,
// as examples/chat/profiles/groups.yaml puts it: a gate, a connector and a
// chat server or two in each (for a test that changes it further).
func twoGroups(t testing.TB) string {
	top := chatTopology(t)
	for _, e := range [][2]string{
		{"      - {id: gate-server-1, host: 127.0.0.1, clientPort: 3014}\n", "      - {id: gate-server-1, host: 127.0.0.1, clientPort: 3014, group: blue}\n      - {id: gate-server-2, host: 127.0.0.1, clientPort: 3015, group: green}\n"},
		{"clientPort: 3050}", "clientPort: 3050, group: blue}"},
		{"clientPort: 3051}", "clientPort: 3051, group: green}"},
		{"clientPort: 3052}", "clientPort: 3052, group: green}"},
		{"port: 6050}", "port: 6050, group: blue}"},
		{"port: 6051}", "port: 6051, group: blue}"},
		{"port: 6052}", "port: 6052, group: green}"},
	} {
		if strings.Count(top, e[0]) != 1 {
			t.Fatalf("the chat example changed: %q is not in it once", e[0])
		}
		top = strings.Replace(top, e[0], e[1], 1)
	}
	return top
}

// players are clients that play the chat demo through a rollout: each asks
// a gate for a connector, enters a room and echoes through its chat server
// every 20ms, for session (then it leaves and logs in again, as new
// players come) or until kicked (then it logs in again at once). They
// count what a player would notice.
type players struct {
	// gates are where a player logs in: its own, else the next, as a load
	// balancer in front of them would send it past one that is restarting.
	gates   []string
	session time.Duration // 0: play until kicked

	requests, logins, failed, kicked, lost atomic.Int64
	mu                                     sync.Mutex
	firstFailure                           error
	reasons                                map[string]int
}

func (p *players) fail(err error) {
	p.failed.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstFailure == nil {
		p.firstFailure = err
	}
}

// play runs n players until ctx ends.
func (p *players) play(ctx context.Context, n int) *sync.WaitGroup {
	p.reasons = map[string]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				var kickedWhy atomic.Pointer[string]
				var cl *client.Client
				var err error
				for k := range p.gates {
					login := bench.Login{Gate: p.gates[(i+k)%len(p.gates)], Options: client.Options{OnKick: func(r string) { kickedWhy.Store(&r) }}}
					if cl, err = login.Player(ctx, fmt.Sprintf("p%d", i), "room-"+strconv.Itoa(i%4)); err == nil {
						break
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						p.fail(fmt.Errorf("login: %w", err))
						time.Sleep(50 * time.Millisecond)
					}
					continue
				}
				p.logins.Add(1)
				var until <-chan time.Time
				if p.session > 0 {
					until = time.After(p.session)
				}
			playing:
				for ctx.Err() == nil {
					resp, err := cl.Request(ctx, "chat.chatHandler.echo", []byte(`{"n":1}`))
					p.requests.Add(1)
					if err == nil {
						err = bench.ReplyError(resp)
					}
					if r := kickedWhy.Load(); r != nil {
						// Kicked: what it had in flight went with its
						// connection, which the kick accounts for.
						p.kicked.Add(1)
						p.mu.Lock()
						p.reasons[*r]++
						p.mu.Unlock()
						break
					}
					if err != nil {
						if ctx.Err() != nil {
							break
						}
						if errors.Is(err, client.ErrClosed) {
							p.lost.Add(1)
							break
						}
						p.fail(err)
					}
					select {
					case <-until:
						break playing
					case <-time.After(20 * time.Millisecond):
					}
				}
				cl.Close()
			}
		})
	}
	return &wg
}

// TestRollout: 40 players play examples/chat, in two groups (-p groups),
// through a rollout to a rebuilt program: every server ends on the new
// build, no request fails, and no player is disconnected but by the
// drain deadline's kick, which the report counts. A rollout whose new
// program exits at once puts the group back and stops; one that would
// drain every gate at once is refused before it starts.
func TestRollout(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	c.must("up", c.file, "-p", "groups", "-d", "--timeout", "30s")
	defer c.waitNoneAlive(15 * time.Second)
	defer c.must("down")
	before := c.ls()

	rebuildGame(t, c)

	ctx, stop := context.WithCancel(context.Background())
	p := players{gates: []string{c.port(3014), c.port(3015)}}
	wg := p.play(ctx, 40)
	time.Sleep(time.Second)
	code, out, errOut := c.run("rollout", c.file, "-p", "groups", "--yes", "--drain", "2s", "-o", "json")
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()
	if code != 0 {
		t.Fatalf("rollout: exit %d\n%s\n%s", code, out, errOut)
	}
	var r rollout.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("the report: %v\n%s", err, out)
	}
	if r.State != rollout.StateDone || len(r.Groups) != 2 || r.Groups[0].Group != "blue" || r.Groups[1].Group != "green" {
		t.Fatalf("report: %+v", r)
	}
	kicked := 0
	for _, g := range r.Groups {
		kicked += g.Kicked
		if g.Outcome != rollout.OutcomeReplaced || g.DrainSeconds < 2 {
			t.Errorf("group %s: %+v; want replaced after the 2s drain (the players stay)", g.Group, g)
		}
	}
	after := c.ls()
	for id, s := range after {
		if s.State != "running" || s.Program == before[id].Program || s.Pid == before[id].Pid || s.Draining {
			t.Errorf("%s after the rollout: %+v; want running a new build, undrained", id, s)
		}
	}
	t.Logf("players: %d requests, %d failed, %d kicked (report: %d), %d lost; kicks %v", p.requests.Load(), p.failed.Load(), p.kicked.Load(), kicked, p.lost.Load(), p.reasons)
	if p.failed.Load() != 0 || p.lost.Load() != 0 {
		t.Errorf("%d requests failed (first: %v) and %d players lost their connection but by a kick", p.failed.Load(), p.firstFailure, p.lost.Load())
	}
	if p.kicked.Load() == 0 || kicked == 0 || p.reasons[rollout.KickReason] != int(p.kicked.Load()) {
		t.Errorf("kicks: players saw %d (%v), the report counts %d; want the deadline's kicks, with their reason", p.kicked.Load(), p.reasons, kicked)
	}
	if out := c.must("rollout", "status"); !strings.Contains(out, "rollout done") || !strings.Contains(out, "group green: replaced") {
		t.Errorf("rollout status:\n%s", out)
	}
	if out := c.must("rollout", c.file, "-p", "groups", "--yes"); out != "" {
		t.Errorf("a second rollout: %q, want nothing to do", out)
	}

	// A build that exits at once: the first group goes back and it stops.
	broken := filepath.Join(c.dir, "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho broken build >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	replaceGame(t, c, broken)
	code, out, errOut = c.run("rollout", c.file, "-p", "groups", "--yes", "--drain", "1s", "--no-check")
	if code != 1 || !strings.Contains(out, "group blue: rolled back") || !strings.Contains(out, "exited with code 3") || strings.Contains(out, "group green") {
		t.Errorf("rollout of a broken build: exit %d\n%s\n%s", code, out, errOut)
	}
	for id, s := range c.ls() {
		if s.State != "running" || s.Program != after[id].Program || s.Draining {
			t.Errorf("%s after the rollback: %+v; want running the build before, undrained", id, s)
		}
	}
	if out := c.must("rollout", "status"); !strings.Contains(out, "rollout rolled back") {
		t.Errorf("rollout status after the rollback:\n%s", out)
	}

	// Every gate in one group: refused before anything is done.
	one := strings.Replace(twoGroups(t), "clientPort: 3015, group: green}", "clientPort: 3015, group: blue}", 1)
	if err := os.WriteFile(c.file, []byte(one), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = c.run("rollout", c.file, "--yes")
	if code != 1 || !strings.Contains(errOut, "group blue would drain every gate (2 of 2) at once") {
		t.Errorf("every gate in one group: exit %d\n%s", code, errOut)
	}
}

// syncBuffer is a strings.Builder that a process's output and the test may
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rebuildGame builds the chat game again, with a build ID of its own, and
// puts it where the cluster's topology names its game.
func rebuildGame(t testing.TB, c *testCluster) {
	t.Helper()
	game := filepath.Join(c.dir, "chat-new")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.build=2", "-o", game, "../../examples/chat").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	replaceGame(t, c, game)
}

// replaceGame puts program where the cluster's topology names its game,
// as a rebuild does (a new file, not the old one written over).
func replaceGame(t testing.TB, c *testCluster, program string) {
	t.Helper()
	dst := filepath.Join(c.dir, "chat")
	if err := os.Remove(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(program, dst); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRollout rolls examples/chat, in two groups, out to a rebuilt
// game with a 10s drain while 300 players echo through it: how long the
// rollout takes, and what the players noticed (failed requests, kicks).
// The figures of BENCHMARKS.md:
//
//	go test -run '^$' -bench Rollout -benchtime 1x ./cmd/pomeloctl/
func BenchmarkRollout(b *testing.B) {
	for range b.N {
		c := newTestCluster(b, chatTopology(b))
		c.must("up", c.file, "-p", "groups", "-d", "--timeout", "30s")
		rebuildGame(b, c)
		ctx, stop := context.WithCancel(context.Background())
		p := players{gates: []string{c.port(3014), c.port(3015)}}
		wg := p.play(ctx, 300)
		time.Sleep(2 * time.Second)
		start := time.Now()
		code, out, errOut := c.run("rollout", c.file, "-p", "groups", "--yes", "--drain", "10s", "-o", "json")
		took := time.Since(start)
		stop()
		wg.Wait()
		c.must("down")
		if code != 0 {
			b.Fatalf("rollout: exit %d\n%s\n%s", code, out, errOut)
		}
		b.ReportMetric(took.Seconds(), "s/rollout")
		b.ReportMetric(float64(p.requests.Load()), "requests")
		b.ReportMetric(float64(p.failed.Load()), "failed")
		b.ReportMetric(float64(p.kicked.Load()), "kicked")
		b.ReportMetric(float64(p.lost.Load()), "lost")
	}
}

// TestRolloutResume: the master killed with -9 in the middle of a
// rollout's drain stops the rollout, which says so and keeps its state;
// once a new master has adopted the cluster, rollout status shows where it
// stopped and rollout resume carries it to the end.
func TestRolloutResume(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	c.must("up", c.file, "-p", "groups", "-d", "--timeout", "30s")
	defer c.waitNoneAlive(15 * time.Second)
	defer c.must("down")
	before := c.ls()
	rebuildGame(t, c)
	// Players who stay, so that the drain waits for them.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	p := players{gates: []string{c.port(3014), c.port(3015)}}
	wg := p.play(ctx, 10)
	defer wg.Wait()
	defer stop()
	time.Sleep(500 * time.Millisecond)

	ro := exec.Command(c.bin, "rollout", c.file, "-p", "groups", "--yes", "--drain", "60s", "--no-check", "--port-offset", strconv.Itoa(c.offset))
	ro.Dir = c.dir
	ro.Env = append(os.Environ(), "POMELOCTL_TOPOLOGY="+c.file)
	var roOut, roErr syncBuffer
	ro.Stdout, ro.Stderr = &roOut, &roErr
	if err := ro.Start(); err != nil {
		t.Fatal(err)
	}
	// Its players stay, so a group that has some drains for up to a
	// minute (which group depends on where the gates put them); on a
	// loaded machine it may take a while to get there.
	draining := regexp.MustCompile(`group (\w+): drain\n`)
	var group string
	for deadline := time.Now().Add(30 * time.Second); group == ""; time.Sleep(50 * time.Millisecond) {
		if code, out, _ := c.run("rollout", "status"); code == 0 {
			if m := draining.FindStringSubmatch(out); m != nil {
				group = m[1]
			}
		}
		if group == "" && time.Now().After(deadline) {
			_ = ro.Process.Kill()
			_ = ro.Wait()
			t.Fatalf("the rollout did not drain a group within 30s:\n%s\n%s", roOut.String(), roErr.String())
		}
	}
	mpid := c.masterPid()
	if err := syscall.Kill(mpid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := ro.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(roOut.String(), "rollout failed") {
		t.Fatalf("the rollout when its master died: %v\n%s\n%s", err, roOut.String(), roErr.String())
	}
	c.must("up", c.file, "-p", "groups", "-d", "--timeout", "30s")
	if out := c.must("rollout", "status"); !strings.Contains(out, "rollout failed") || !strings.Contains(out, "group "+group+": failed") {
		t.Errorf("rollout status after the master came back:\n%s", out)
	}
	stop()
	out := c.must("rollout", "resume", "--yes", "--drain", "1s", "--no-check")
	if !strings.Contains(out, "group "+group+": replaced") || !strings.Contains(out, "rollout done") {
		t.Errorf("rollout resume:\n%s", out)
	}
	for id, s := range c.ls() {
		if s.State != "running" || s.Program == before[id].Program || s.Draining {
			t.Errorf("%s after the resumed rollout: %+v; want running the new build, undrained", id, s)
		}
	}
}
