package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/topology"
)

// RunHA runs this master (cfg.ID at cfg.Addr: the topology's master when
// empty, else one of ha.standbys) as one of the cluster's masters in
// ZooKeeper (the topology's ha): a standby until it is elected, then the
// leader, which adopts the running servers (same pids) and leads until its
// term ends, then a standby again. fresh is `up` starting the cluster: it
// forgets an earlier `down`.
//
// It returns when ctx ends (SIGTERM: the leader hands over at once, and
// every server runs on under the next), or when the cluster is brought
// down (`pomeloctl down`: every master leaves).
func RunHA(ctx context.Context, cfg Config, fresh bool) error {
	t := cfg.Topology
	if t.HA == nil {
		return errors.New("master: the topology declares no ha")
	}
	cfg.ID, cfg.Addr = cfg.self()
	if cfg.RunDir == "" {
		cfg.RunDir = DefaultRunDir(t)
	}
	log := cfg.Logger.With("master", cfg.ID)
	// One endpoint for the process: it answers while the master stands by
	// (pomelo_master_leader 0) as while it leads.
	met, stopMetrics, err := serveMetrics(cfg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	cfg.metrics = met
	dial := func() (*ha.Session, error) {
		sess, err := ha.Dial(ha.Config{Servers: t.HA.Zookeeper, Path: t.HA.Path, SessionTimeout: t.HA.SessionTimeout.D(),
			Auth: t.HA.Auth.Value, ID: cfg.ID, Addr: DialAddr(cfg.Addr), Logger: log})
		if err != nil {
			return nil, fmt.Errorf("master HA: %w", err)
		}
		return sess, nil
	}
	sess, err := dial()
	if err != nil {
		return err
	}
	defer func() {
		if sess != nil {
			sess.Close()
		}
	}()
	if fresh {
		if err := sess.ClearDown(); err != nil {
			return err
		}
		if err := sess.ClearShared(); err != nil {
			return err
		}
	}
	for {
		standby, err := serveStandby(cfg.Addr, cfg.ID, sess)
		if err != nil {
			return err
		}
		log.Info("standing by: campaigning for the lead in ZooKeeper", "zookeeper", t.HA.Zookeeper, "path", t.HA.Path)
		prev, _ := cfg.RunDir.Master()
		term, err := sess.Campaign(ctx, prev.Epoch)
		standby.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if down, err := sess.IsDown(); err != nil || down {
			_ = term.Resign()
			log.Info("elected after the cluster was brought down: leaving")
			return err
		}
		if yield(sess, cfg.ID, log) {
			_ = term.Resign() // and back in line
			continue
		}
		log.Info("elected leader", "epoch", term.Epoch)
		// Every leader but the one up starts the cluster with takes over
		// servers that run, some perhaps started on another host.
		cfg.awaitLinks = !fresh
		fresh = false
		done, err := lead(ctx, cfg, sess, term)
		if err != nil || done || ctx.Err() != nil {
			return err
		}
		// The term ended under it: its session expired or could not be
		// confirmed. It stands by again on a session of its own making,
		// not on one go-zookeeper is still recovering (a request on that
		// one could wait for good).
		sess.Close()
		for {
			if sess, err = dial(); err == nil {
				break
			}
			log.Warn("cannot reach ZooKeeper to stand by again; trying again", "err", err)
			select {
			case <-ctx.Done():
				sess = nil
				return nil
			case <-time.After(time.Second):
			}
		}
	}
}

// lead runs the cluster for one term. It reports done when the cluster
// was brought down.
func lead(ctx context.Context, cfg Config, sess *ha.Session, term *ha.Term) (done bool, err error) {
	cfg.Term = term
	cfg.beforeDown = func() error { return sess.MarkDown() }
	cfg.promote = func(id string) error {
		if id == cfg.ID {
			return admin.Errorf(http.StatusBadRequest, "promote %s: it leads already", id)
		}
		all, err := sess.Candidates()
		if err != nil {
			return admin.Errorf(http.StatusServiceUnavailable, "promote %s: %v", id, err)
		}
		if !slices.ContainsFunc(all, func(c ha.Candidate) bool { return c.ID == id }) {
			return admin.Errorf(http.StatusBadRequest, "promote %s: it is not standing by (not in the election): start it first (pomeloctl master TOPOLOGY --standby %s)", id, id)
		}
		if err := sess.Promote(id); err != nil {
			return admin.Errorf(http.StatusServiceUnavailable, "promote %s: %v", id, err)
		}
		// The answer goes out before the admin API closes: it waits for
		// this request.
		return term.Resign()
	}
	cfg.masters = func() []admin.MasterStatus { return masters(cfg.Topology, sess, term) }
	cfg.share = term.Share
	if err := pullShared(cfg.RunDir, sess); err != nil {
		_ = term.Resign()
		return false, fmt.Errorf("take over the cluster's state from ZooKeeper: %w", err)
	}
	m, err := New(cfg)
	if err != nil {
		_ = term.Resign()
		return true, err
	}
	if cfg.OnLead != nil {
		cfg.OnLead(m)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := make(chan struct{})
	defer close(stop)
	wg.Go(func() {
		// SIGTERM hands over at once, rather than after the session's
		// timeout: the servers run on.
		select {
		case <-ctx.Done():
			_ = term.Resign()
		case <-stop:
		}
	})
	wg.Go(func() {
		// Published once the cluster is adopted and runs: standbys and the
		// control commands then find the leader.
		select {
		case <-m.Ready():
			if err := term.Publish(ctx); err != nil && term.Valid() {
				m.log.Warn("could not publish the leader in ZooKeeper", "err", err)
			}
		case <-term.Lost():
		case <-stop:
		}
	})
	// The cluster stops only by `down`; ctx's end is a handover.
	if err := m.Run(context.WithoutCancel(ctx)); err != nil {
		_ = term.Resign()
		return true, err
	}
	if term.Valid() {
		// Run returned with the term whole: the cluster was brought down.
		_ = term.Resign()
		return true, nil
	}
	return false, nil
}

// pullShared brings what an earlier leader shared in ZooKeeper into the
// run directory, before this leader reads it there: on another host than
// that leader's, it holds nothing of the cluster's, or what this master
// saw when it last led.
func pullShared(dir RunDir, sess *ha.Session) error {
	for name, mode := range sharedFiles() {
		data, ok, err := sess.Shared(name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := dir.writeRaw(name, data, mode); err != nil {
			return err
		}
	}
	return nil
}

// yield reports whether this master, just elected, should hand over at
// once because an operator promoted another, which stands by: it then
// goes back in line, and so does every master elected before the one
// promoted. A promotion whose master is not standing by any more, or
// this master's own, is done with.
func yield(sess *ha.Session, self string, log *slog.Logger) bool {
	id, ok, err := sess.Promoted()
	if err != nil || !ok {
		return false
	}
	if id != self {
		all, err := sess.Candidates()
		if err == nil && slices.ContainsFunc(all, func(c ha.Candidate) bool { return c.ID == id }) {
			log.Info("elected, and handing over at once: an operator promoted another master", "promoted", id)
			return true
		}
	}
	_ = sess.ClearPromoted()
	return false
}

// masters are the declared masters and any other in the election, as the
// leader sees them.
func masters(t *topology.Topology, sess *ha.Session, term *ha.Term) []admin.MasterStatus {
	all, _ := sess.Candidates()
	var out []admin.MasterStatus
	for i, c := range all {
		ms := admin.MasterStatus{ID: c.ID, Addr: c.Addr, Role: "standby", Session: "connected"}
		if i == 0 {
			ms.Role, ms.Session, ms.Epoch = "leader", sess.State(), term.Epoch
		}
		out = append(out, ms)
	}
	for _, d := range t.Masters() {
		if !slices.ContainsFunc(out, func(ms admin.MasterStatus) bool { return ms.ID == d.ID }) {
			out = append(out, admin.MasterStatus{ID: d.ID, Addr: d.Addr, Role: "absent", Session: "none"})
		}
	}
	return out
}

// serveStandby answers on a standby's admin address: not the leader (with
// who is, when ZooKeeper says), to the control commands and to servers,
// which then try the next master.
func serveStandby(addr, id string, sess *ha.Session) (*http.Server, error) {
	ln, err := listenRetry(addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("the standby %s cannot listen on %s: %w", id, addr, err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		msg := id + " is a standby master"
		if l, ok, err := sess.Leader(); err == nil && ok {
			msg += fmt.Sprintf("; the leader is %s at %s (epoch %d)", l.ID, l.Addr, l.Epoch)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	})}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// listenRetry listens on addr, retrying while the address is still held
// (the leader this master was, shutting its admin API down).
func listenRetry(addr string, within time.Duration) (net.Listener, error) {
	deadline := time.Now().Add(within)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
