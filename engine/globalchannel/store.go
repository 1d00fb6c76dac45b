// Package globalchannel keeps channels whose members any server can push
// to, wherever each member is connected (Pomelo's
// pomelo-globalchannel-plugin): the members of a channel are kept per
// frontend, so that a push makes one RPC per frontend that holds members.
// Store is where they are kept; Redis is the one shipped, with the
// plugin's key layout, so that a Pomelo server and pomeloctl can share
// channels.
package globalchannel

import (
	"context"
	"errors"
	"fmt"
)

// Store keeps the members of global channels: for each channel, a set of
// uids for each frontend (by id) they are connected to.
type Store interface {
	// Add adds uid, connected to frontend sid, to channel name.
	Add(ctx context.Context, name, uid, sid string) error
	// Leave removes uid, connected to sid, from channel name.
	Leave(ctx context.Context, name, uid, sid string) error
	// LeaveAll removes uid, connected to sid, from every channel in names.
	LeaveAll(ctx context.Context, names []string, uid, sid string) error
	// Members gives channel name's members on each frontend in sids that
	// holds any, in one round trip whatever the number of frontends.
	Members(ctx context.Context, name string, sids []string) (map[string][]string, error)
	// Destroy removes channel name, on every frontend in sids.
	Destroy(ctx context.Context, name string, sids []string) error
	// Restore puts back what frontend sid holds (channel → uids), as after
	// the store restarted empty.
	Restore(ctx context.Context, sid string, members map[string][]string) error
	// DropFrontend removes every member on frontend sid (it stopped or
	// died), and reports how many channels had some.
	DropFrontend(ctx context.Context, sid string) (int, error)
	// Clean removes every channel of this cluster (its prefix), as when
	// the cluster starts.
	Clean(ctx context.Context) (int, error)
	// Instance names the run of the store that answers: another than
	// before means it restarted (and may have lost what it held).
	Instance(ctx context.Context) (string, error)
	Close() error
}

// ErrBadInput is a call with an argument no channel can take.
var ErrBadInput = errors.New("global channel")

// check refuses what no channel can take: an empty channel name, uid or
// frontend id.
func check(name, uid, sid string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the channel has no name", ErrBadInput)
	case uid == "":
		return fmt.Errorf("%w %s: the member has no uid", ErrBadInput, name)
	case sid == "":
		return fmt.Errorf("%w %s: member %s has no frontend id", ErrBadInput, name, uid)
	}
	return nil
}
