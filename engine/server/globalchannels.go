package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/globalchannel"
	"github.com/pomeloctl/pomeloctl/topology"
)

// The system routes by which a server tells a frontend about the global
// channel members it holds, so that the frontend can take a member out
// when its session closes and put its members back after Redis restarted
// empty.
const (
	routeGCJoined    = "sys.gc.joined"
	routeGCLeft      = "sys.gc.left"
	routeGCDestroyed = "sys.gc.destroyed"
)

type sysGC struct {
	Channel string `json:"channel"`
	UID     string `json:"uid,omitempty"`
}

// GlobalChannels are the cluster's channels in Redis
// (topology.globalChannel): any server adds members, wherever they are
// connected, and pushes to them all, one RPC per frontend that holds
// members.
type GlobalChannels struct {
	sv    *Services
	cfg   *topology.GlobalChannel
	store globalchannel.Store
	log   *slog.Logger

	// On a frontend, the members it holds: uid → channel names.
	mu   sync.Mutex
	held map[string]map[string]bool
}

// ErrNoGlobalChannels is a global channel asked of a cluster whose
// topology declares no globalChannel.
var ErrNoGlobalChannels = errors.New("the topology declares no globalChannel (channels in Redis)")

// GlobalChannels are the cluster's channels in Redis; nil when the
// topology declares none.
func (sv *Services) GlobalChannels() *GlobalChannels { return sv.gchans }

// frontend checks that id is a frontend of the cluster, declared or
// running (added at runtime).
func (g *GlobalChannels) frontend(id string) error {
	if id == "" {
		return fmt.Errorf("%w: no frontend id", globalchannel.ErrBadInput)
	}
	if s := g.sv.peers.t.Server(id); s != nil {
		if !s.Frontend {
			return fmt.Errorf("%w: %s is a %s server, not a frontend: members are connected to frontends", globalchannel.ErrBadInput, id, s.Type)
		}
		return nil
	}
	if g.sv.peers.agent != nil {
		if m, ok := g.sv.peers.live(id); ok && m.Frontend {
			return nil
		}
	}
	return fmt.Errorf("%w: no frontend %s in the cluster", globalchannel.ErrBadInput, id)
}

// frontends are the ids of every frontend, declared or running.
func (g *GlobalChannels) frontends() []string {
	var ids []string
	for _, s := range g.sv.peers.t.AllServers() {
		if s.Frontend {
			ids = append(ids, s.ID)
		}
	}
	if g.sv.peers.agent != nil {
		members, _ := g.sv.peers.agent.View()
		for _, m := range members { // added at runtime
			if m.Frontend && !slices.Contains(ids, m.ID) {
				ids = append(ids, m.ID)
			}
		}
	}
	return ids
}

// Add adds uid, connected to frontend, to channel name.
func (g *GlobalChannels) Add(ctx context.Context, name, uid, frontend string) error {
	if err := g.frontend(frontend); err != nil {
		return err
	}
	if err := g.store.Add(ctx, name, uid, frontend); err != nil {
		return err
	}
	g.tell(ctx, frontend, routeGCJoined, sysGC{Channel: name, UID: uid})
	return nil
}

// Leave removes uid, connected to frontend, from channel name.
func (g *GlobalChannels) Leave(ctx context.Context, name, uid, frontend string) error {
	if err := g.frontend(frontend); err != nil {
		return err
	}
	if err := g.store.Leave(ctx, name, uid, frontend); err != nil {
		return err
	}
	g.tell(ctx, frontend, routeGCLeft, sysGC{Channel: name, UID: uid})
	return nil
}

// Members are channel name's members by the frontend they are connected
// to, read for every frontend in one round trip.
func (g *GlobalChannels) Members(ctx context.Context, name string) (map[string][]string, error) {
	return g.store.Members(ctx, name, g.frontends())
}

// MembersOn are channel name's members connected to frontend.
func (g *GlobalChannels) MembersOn(ctx context.Context, name, frontend string) ([]string, error) {
	if err := g.frontend(frontend); err != nil {
		return nil, err
	}
	m, err := g.store.Members(ctx, name, []string{frontend})
	return m[frontend], err
}

// Push pushes msg on route to every member of channel name: one RPC per
// frontend that holds members, never one per member.
func (g *GlobalChannels) Push(ctx context.Context, name, route string, msg any) error {
	return g.push(ctx, name, route, msg, nil)
}

// PushTo pushes msg on route to the members of channel name among uids.
func (g *GlobalChannels) PushTo(ctx context.Context, name, route string, msg any, uids []string) error {
	if uids == nil {
		uids = []string{}
	}
	return g.push(ctx, name, route, msg, uids)
}

func (g *GlobalChannels) push(ctx context.Context, name, route string, msg any, only []string) error {
	members, err := g.Members(ctx, name)
	if err != nil {
		return fmt.Errorf("push %s to global channel %s: %w", route, name, err)
	}
	var targets []Target
	for fe, uids := range members {
		for _, uid := range uids {
			if only == nil || slices.Contains(only, uid) {
				targets = append(targets, Target{UID: uid, Frontend: fe})
			}
		}
	}
	return g.sv.PushToUIDs(ctx, route, msg, targets)
}

// Destroy removes channel name and its members everywhere.
func (g *GlobalChannels) Destroy(ctx context.Context, name string) error {
	fes := g.frontends()
	if err := g.store.Destroy(ctx, name, fes); err != nil {
		return err
	}
	for _, fe := range fes {
		g.tell(ctx, fe, routeGCDestroyed, sysGC{Channel: name})
	}
	return nil
}

// tell lets frontend know of a change to the members it holds. It is told
// after Redis has it: a frontend that does not hear (it is down) has no
// session to leave with or members to put back anyway.
func (g *GlobalChannels) tell(ctx context.Context, frontend, route string, a sysGC) {
	body, _ := json.Marshal(a)
	if frontend == g.sv.id {
		g.heard(route, a)
		return
	}
	err := g.sv.node.Notify(ctx, frontend, route, body)
	g.sv.metrics.Called(route, frontend, err)
	if err != nil {
		g.log.Warn("global channels: could not tell the frontend of a member it holds", "frontend", frontend, "channel", a.Channel, "uid", a.UID, "err", err)
	}
}

// heard keeps, on a frontend, what it was told of its members.
func (g *GlobalChannels) heard(route string, a sysGC) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch route {
	case routeGCJoined:
		if g.held[a.UID] == nil {
			g.held[a.UID] = map[string]bool{}
		}
		g.held[a.UID][a.Channel] = true
	case routeGCLeft:
		delete(g.held[a.UID], a.Channel)
		if len(g.held[a.UID]) == 0 {
			delete(g.held, a.UID)
		}
	case routeGCDestroyed:
		for uid, names := range g.held {
			delete(names, a.Channel)
			if len(names) == 0 {
				delete(g.held, uid)
			}
		}
	}
}

// serveGC runs a global channel system route on a frontend.
func (g *GlobalChannels) serveGC(route string, body []byte) error {
	var a sysGC
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("%s: %w", route, err)
	}
	g.heard(route, a)
	return nil
}

// sessionClosed takes uid out of the channels it was in through this
// frontend, once its last session here has closed: no ghost member.
func (g *GlobalChannels) sessionClosed(uid string, others int) {
	if uid == "" || others > 0 {
		return
	}
	g.mu.Lock()
	var names []string
	for name := range g.held[uid] {
		names = append(names, name)
	}
	delete(g.held, uid)
	g.mu.Unlock()
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.store.LeaveAll(ctx, names, uid, g.sv.id); err != nil {
		g.log.Warn("global channels: could not take a member that left out of its channels", "uid", uid, "channels", names, "err", err)
	}
}

// restore puts back every member this frontend holds.
func (g *GlobalChannels) restore(ctx context.Context) (int, error) {
	g.mu.Lock()
	byChannel := map[string][]string{}
	n := 0
	for uid, names := range g.held {
		for name := range names {
			byChannel[name] = append(byChannel[name], uid)
			n++
		}
	}
	g.mu.Unlock()
	return n, g.store.Restore(ctx, g.sv.id, byChannel)
}

// gcLink is the server's link to Redis, as a component: it dials Redis
// before anything starts (Redis unreachable is a start failure naming
// its address), and, on a frontend, watches it: after Redis comes back
// (it may have restarted empty) the frontend puts its members back.
type gcLink struct {
	g        *GlobalChannels
	frontend bool
	stop     context.CancelFunc
	done     chan struct{}
}

// watchEvery is how often a frontend checks that Redis answers.
const watchEvery = 250 * time.Millisecond

func (l *gcLink) Name() string { return "globalchannel" }

func (l *gcLink) Provision(ctx context.Context) error {
	cfg, err := globalchannel.ConfigOf(l.g.sv.peers.t)
	if err != nil {
		return err
	}
	store, err := globalchannel.DialRedis(ctx, cfg)
	if err != nil {
		return err
	}
	l.g.store = store
	return nil
}

func (l *gcLink) Start(context.Context) error {
	if !l.frontend {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	l.stop, l.done = stop, make(chan struct{})
	go func() { defer close(l.done); l.watch(ctx) }()
	return nil
}

// watch asks Redis which run of it answers; when one answers after none
// did, or another than before (it restarted, perhaps empty), every member
// this frontend holds is put back (SADD: harmless if Redis kept them).
func (l *gcLink) watch(ctx context.Context) {
	who := l.g.store
	ictx, cancel := context.WithTimeout(ctx, time.Second)
	last, _ := who.Instance(ictx)
	cancel()
	down := time.Time{}
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		id, err := who.Instance(ictx)
		cancel()
		switch {
		case err != nil:
			if down.IsZero() {
				down = time.Now()
				l.g.log.Warn("global channels: Redis does not answer; trying again", "redis", l.g.cfg.Redis, "err", err)
			}
		case id != last || !down.IsZero():
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			n, rerr := l.g.restore(rctx)
			cancel()
			if rerr != nil {
				l.g.log.Warn("global channels: Redis answers again, but the members could not be put back yet; trying again", "redis", l.g.cfg.Redis, "err", rerr)
				continue
			}
			why := "it restarted"
			if !down.IsZero() {
				why = "it was unreachable for " + time.Since(down).Round(time.Millisecond).String()
			}
			l.g.log.Info("global channels: Redis answers again; this frontend's members are back", "redis", l.g.cfg.Redis, "members", n, "why", why)
			last, down = id, time.Time{}
		}
	}
}

func (l *gcLink) Drain(context.Context) error { return nil }

func (l *gcLink) Stop(context.Context) error {
	if l.stop != nil {
		l.stop()
		<-l.done
	}
	if l.g.store != nil {
		return l.g.store.Close()
	}
	return nil
}
