package master

import (
	"context"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/globalchannel"
)

// The master keeps the cluster's global channels in Redis
// (topology.globalChannel) free of members nobody holds: it cleans them
// when the cluster starts afresh, and takes out the members of a frontend
// whose process ended (stopped, crashed, killed with -9), whose sessions
// ended with it. A frontend takes out those of each session that closes
// itself; this is for the frontend that cannot.

// channels dials the cluster's Redis for the master's own use, once it
// answers.
func (m *Master) channels(ctx context.Context) (globalchannel.Store, error) {
	m.gcMu.Lock()
	defer m.gcMu.Unlock()
	if m.gc != nil {
		return m.gc, nil
	}
	cfg, err := globalchannel.ConfigOf(m.cfg.Topology)
	if err != nil {
		return nil, err
	}
	store, err := globalchannel.DialRedis(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m.gc = store
	return store, nil
}

// cleanChannels removes the channels an earlier run of the cluster left,
// before the first server starts.
func (m *Master) cleanChannels() {
	if m.cfg.Topology.GlobalChannel == nil {
		return
	}
	ctx, cancel := context.WithTimeout(m.loopCtx, 5*time.Second)
	defer cancel()
	store, err := m.channels(ctx)
	if err == nil {
		var n int
		if n, err = store.Clean(ctx); err == nil && n > 0 {
			m.log.Info("global channels: removed the channels an earlier run of the cluster left", "keys", n, "prefix", m.cfg.Topology.GlobalChannel.Prefix)
		}
	}
	if err != nil {
		m.log.Warn("global channels: could not clean the channels of an earlier run; members of it may be pushed to", "err", err)
	}
}

// dropChannels takes the members of frontend id out of every channel.
func (m *Master) dropChannels(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := m.channels(ctx)
	if err == nil {
		var n int
		if n, err = store.DropFrontend(ctx, id); err == nil && n > 0 {
			m.log.Info("global channels: took the members of a frontend that ended out of its channels", "server", id, "channels", n)
		}
	}
	if err != nil {
		m.log.Warn("global channels: could not take the members of a frontend that ended out of its channels", "server", id, "err", err)
	}
}

// closeChannels closes the master's link to Redis.
func (m *Master) closeChannels() {
	m.gcMu.Lock()
	defer m.gcMu.Unlock()
	if m.gc != nil {
		_ = m.gc.Close()
		m.gc = nil
	}
}
