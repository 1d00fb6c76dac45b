package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/freeport"
)

// haproxyConfig balances the two gates' client ports behind lb, checking
// each with its readiness endpoint every 100ms; it logs, as each
// connection is taken, the gate it went to and when (ms since the epoch).
const haproxyConfig = `global
    log stdout format raw local0
defaults
    mode tcp
    log global
    option logasap
    log-format "%%s %%[date(0,ms)]"
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend gates
    bind 127.0.0.1:%d
    default_backend gates
backend gates
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server inter 100ms fall 1 rise 1
    server gate-server-1 127.0.0.1:%d check port %d
    server gate-server-2 127.0.0.1:%d check port %d
`

// checkInterval is how soon HAProxy sees a readiness change: its inter.
const checkInterval = 100 * time.Millisecond

// TestHAProxyInFrontOfGates: HAProxy, checking the gates' /ready, balances
// new players between two gates through a rollout: once a gate drains, no
// new connection reaches it (after one check interval) until it is back,
// and no player's login through the balancer fails.
func TestHAProxyInFrontOfGates(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed (./install.sh --test installs it)")
	}
	top := twoGroups(t)
	for _, e := range [][2]string{{"clientPort: 3014, group: blue}", "clientPort: 3014, httpPort: 3091, group: blue}"}, {"clientPort: 3015, group: green}", "clientPort: 3015, httpPort: 3092, group: green}"}} {
		top = strings.Replace(top, e[0], e[1], 1)
	}
	c := newTestCluster(t, top)
	const lb = 3099
	off, err := freeport.Offset(append(slices.Clone(chatPorts), 3015, 3091, 3092, lb)...)
	if err != nil {
		t.Fatal(err)
	}
	c.offset = off
	c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.waitNoneAlive(15 * time.Second)
	defer c.must("down")

	cfg := filepath.Join(c.dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, haproxyConfig, lb+off, 3014+off, 3091+off, 3015+off, 3092+off), 0o644); err != nil {
		t.Fatal(err)
	}
	hp := exec.Command(haproxy, "-f", cfg, "-db")
	out, err := hp.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var hpErr strings.Builder
	hp.Stderr = &hpErr
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hp.Process.Kill(); _ = hp.Wait() }()
	// Each connection the balancer takes: the gate and when.
	type taken struct {
		gate string
		at   time.Time
	}
	var mu sync.Mutex
	var conns []taken
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 || !strings.HasPrefix(f[0], "gate-server-") {
				continue
			}
			ms, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				continue
			}
			mu.Lock()
			conns = append(conns, taken{f[0], time.UnixMilli(ms)})
			mu.Unlock()
		}
	}()

	// When each gate's readiness answered 503, as a balancer sees it.
	type period struct{ from, to time.Time }
	draining := map[string][]period{}
	watch, stopWatch := context.WithCancel(context.Background())
	var watched sync.WaitGroup
	for id, port := range map[string]int{"gate-server-1": 3091, "gate-server-2": 3092} {
		watched.Go(func() {
			var cur *period
			for watch.Err() == nil {
				code, _ := c.ready(port)
				now := time.Now()
				switch {
				case code != 200 && cur == nil:
					cur = &period{from: now}
				case code == 200 && cur != nil:
					cur.to = now
					mu.Lock()
					draining[id] = append(draining[id], *cur)
					mu.Unlock()
					cur = nil
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}

	rebuildGame(t, c)
	ctx, stop := context.WithCancel(context.Background())
	p := players{gates: []string{c.port(lb)}, session: 300 * time.Millisecond}
	wg := p.play(ctx, 20)
	time.Sleep(time.Second)
	code, stdout, stderr := c.run("rollout", c.file, "--yes", "--drain", "2s", "--no-check")
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	stopWatch()
	watched.Wait()
	if code != 0 {
		t.Fatalf("rollout: exit %d\n%s\n%s\nhaproxy: %s", code, stdout, stderr, hpErr.String())
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("players: %d logins, %d requests, %d failed, %d kicked, %d lost; the balancer took %d connections", p.logins.Load(), p.requests.Load(), p.failed.Load(), p.kicked.Load(), p.lost.Load(), len(conns))
	if p.failed.Load() != 0 || p.lost.Load() != 0 {
		t.Errorf("%d logins or requests failed (first: %v), %d players lost their connection", p.failed.Load(), p.firstFailure, p.lost.Load())
	}
	// The second group drains once the balancer has seen the first ready
	// again: never both gates out of its rotation at once.
	if d1, d2 := draining["gate-server-1"], draining["gate-server-2"]; len(d1) == 1 && len(d2) == 1 && d2[0].from.Before(d1[0].to.Add(2*checkInterval)) {
		t.Errorf("gate-server-2 drained %s after gate-server-1 was back: a balancer checking every %s could have had neither", d2[0].from.Sub(d1[0].to).Round(time.Millisecond), checkInterval)
	}
	for _, id := range []string{"gate-server-1", "gate-server-2"} {
		if len(draining[id]) != 1 {
			t.Errorf("%s's readiness: %d periods of 503, want its one drain", id, len(draining[id]))
			continue
		}
		d := draining[id][0]
		t.Logf("%s drained from %s for %s", id, d.from.Format("15:04:05.000"), d.to.Sub(d.from).Round(time.Millisecond))
		before, during := 0, 0
		for _, cn := range conns {
			switch {
			case cn.gate != id:
			case cn.at.Before(d.from):
				before++
			case cn.at.After(d.from.Add(checkInterval+50*time.Millisecond)) && cn.at.Before(d.to):
				during++
			}
		}
		if before == 0 || during != 0 {
			t.Errorf("%s: the balancer gave it %d connections before its drain and %d while it drained (%s for %s); want some, then none",
				id, before, during, d.from.Format("15:04:05.000"), d.to.Sub(d.from).Round(time.Millisecond))
		}
	}
}
