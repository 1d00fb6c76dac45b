package server

import (
	"context"
	"slices"
	"sync"
)

// Channels are a server's named groups of users (Pomelo's ChannelService):
// a chat room, a battle. They live on the server that made them.
type Channels struct {
	sv *Services
	mu sync.Mutex
	m  map[string]*Channel
}

// Get returns channel name, making it when create is true; nil if there is
// none and create is false.
func (cs *Channels) Get(name string, create bool) *Channel {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	ch := cs.m[name]
	if ch == nil && create {
		ch = &Channel{name: name, sv: cs.sv, members: map[string]string{}}
		cs.m[name] = ch
	}
	return ch
}

// Destroy drops channel name.
func (cs *Channels) Destroy(name string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.m, name)
}

// Channel is a group of users, each with the frontend it is connected to.
type Channel struct {
	name    string
	sv      *Services
	mu      sync.Mutex
	members map[string]string // uid → frontend id
}

// Name is the channel's name.
func (ch *Channel) Name() string { return ch.name }

// Add adds uid, connected to frontend; false if it is already a member.
func (ch *Channel) Add(uid, frontend string) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if _, ok := ch.members[uid]; ok {
		return false
	}
	ch.members[uid] = frontend
	return true
}

// Leave removes uid.
func (ch *Channel) Leave(uid string) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	delete(ch.members, uid)
}

// Members lists the members' uids, sorted.
func (ch *Channel) Members() []string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	out := make([]string, 0, len(ch.members))
	for uid := range ch.members {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}

// Member returns the frontend a member is connected to.
func (ch *Channel) Member(uid string) (frontend string, ok bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	frontend, ok = ch.members[uid]
	return
}

// Push pushes msg on route to every member: one RPC per frontend that
// holds members, not one per member.
func (ch *Channel) Push(ctx context.Context, route string, msg any) error {
	ch.mu.Lock()
	targets := make([]Target, 0, len(ch.members))
	for uid, fe := range ch.members {
		targets = append(targets, Target{UID: uid, Frontend: fe})
	}
	ch.mu.Unlock()
	return ch.sv.PushToUIDs(ctx, route, msg, targets)
}
