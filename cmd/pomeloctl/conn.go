package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/topology"
)

// exitUnreachable is the status of a command that could not reach the master.
const exitUnreachable = 3

// errUnreachable marks a failure to reach the master at all.
var errUnreachable = errors.New("the master is not reachable")

// defaultTopology is the file the control commands read when none is named.
const defaultTopology = "topology.yaml"

// envNoDefaults, set to anything but "", stops the control commands from
// guessing which cluster is meant: no ./topology.yaml, no 127.0.0.1:3005, no
// admin/admin. Tests and scripts set it so that they reach only the cluster
// they name, never one that happens to run on Pomelo's default ports.
const envNoDefaults = "POMELOCTL_NO_DEFAULTS"

// conn is how a control command finds the master: flags, then environment
// variables, then the topology (the master's address, its first acting
// user), then Pomelo's defaults (not with $POMELOCTL_NO_DEFAULTS).
type conn struct {
	g        *globals
	topology string
	profiles []string
	master   string
	user     string
	password string
	runDir   string
}

func (c *conn) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&c.topology, "topology", "t", "", "the cluster's topology, for the master's address and credentials (default $POMELOCTL_TOPOLOGY, else ./topology.yaml)")
	f.StringSliceVarP(&c.profiles, "profile", "p", nil, "the profiles the cluster was started with")
	f.StringVar(&c.master, "master", "", "the master's admin address host:port (default $POMELOCTL_MASTER, else the topology's master)")
	f.StringVar(&c.user, "user", "", "admin user (default $POMELOCTL_USER, else the topology's first level-1 user)")
	f.StringVar(&c.password, "password", "", "admin password (default $POMELOCTL_PASSWORD, else that user's)")
	f.StringVar(&c.runDir, "run-dir", "", "the cluster's run directory (default .pomeloctl/PORT beside the topology)")
}

// target is the master a control command talks to.
type target struct {
	client *admin.Client
	addr   string
	runDir master.RunDir // "" when not known (no topology, no --run-dir)
	ha     *topology.HA  // the topology's master HA, nil for none
	// elsewhere: ZooKeeper named the leader (master HA), which this
	// host's run directory does not record: it leads from another host,
	// or from another run directory.
	elsewhere bool
	// topology is the cluster's, when one was read; user and password
	// what the client calls the master as; fixed that the master was
	// named (--master, $POMELOCTL_MASTER), not found.
	topology       *topology.Topology
	user, password string
	fixed          bool
}

func (c *conn) resolve(cmd *cobra.Command) (*target, error) {
	addr := firstOf(c.master, os.Getenv("POMELOCTL_MASTER"))
	user := firstOf(c.user, os.Getenv("POMELOCTL_USER"))
	password := firstOf(c.password, os.Getenv("POMELOCTL_PASSWORD"))
	tg := &target{runDir: master.RunDir(c.runDir), fixed: addr != ""}
	path := firstOf(c.topology, os.Getenv("POMELOCTL_TOPOLOGY"))
	noDefaults := os.Getenv(envNoDefaults) != ""
	if path == "" && !noDefaults {
		if _, err := os.Stat(defaultTopology); err == nil {
			path = defaultTopology
		}
	}
	if path != "" {
		t, err := loadTopology(cmd, c.g, path, c.profiles)
		if err != nil {
			return nil, fmt.Errorf("read the topology for the master's address: %w", err)
		}
		if tg.runDir == "" {
			tg.runDir = master.DefaultRunDir(t)
		}
		tg.ha, tg.topology = t.HA, t
		if addr == "" && t.HA != nil {
			addr, tg.elsewhere = leaderAddr(cmd.Context(), t, tg.runDir)
		}
		addr = firstOf(addr, masterAddr(t))
		if user == "" {
			var pw string
			if user, pw = actingUser(t); user != "" {
				password = firstOf(password, pw)
			}
		}
		if tg.runDir == "" {
			tg.runDir = master.DefaultRunDir(t)
		}
	}
	defaultAddr, d := net.JoinHostPort(topology.DefaultHost, strconv.Itoa(topology.DefaultMasterPort)), topology.DefaultUser()
	switch {
	case noDefaults && addr == "":
		return nil, fmt.Errorf("no cluster named, and $%s forbids ./%s and %s: pass --topology or --master (or set $POMELOCTL_TOPOLOGY or $POMELOCTL_MASTER)",
			envNoDefaults, defaultTopology, defaultAddr)
	case noDefaults && user == "":
		return nil, fmt.Errorf("no admin user named, and $%s forbids %s/%s: pass --user and --password (or set $POMELOCTL_USER and $POMELOCTL_PASSWORD), or a topology with a level-1 user",
			envNoDefaults, d.Username, d.Password.Value)
	}
	addr = firstOf(addr, defaultAddr)
	if user == "" {
		user, password = d.Username, firstOf(password, d.Password.Value)
	}
	tg.addr, tg.user, tg.password = addr, user, password
	tg.client = admin.NewClient(addr, user, password)
	return tg, nil
}

// reached turns a failure to reach the master into errUnreachable, with
// what the run directory knows.
func (tg *target) reached(err error) error {
	var oe *net.OpError
	// Refused, or cut before it answered (a master that died with the
	// request in its listener's queue): either way no master answers.
	if err == nil || !errors.As(err, &oe) || oe.Op != "dial" && !errors.Is(err, syscall.ECONNRESET) {
		return err
	}
	msg := fmt.Sprintf("no master answers on %s", tg.addr)
	if tg.runDir != "" {
		rec, rerr := tg.runDir.Master()
		switch {
		case errors.Is(rerr, fs.ErrNotExist):
			msg += " (the cluster is not running: `pomeloctl up` starts it)"
		case rerr == nil && !rec.Alive():
			msg += fmt.Sprintf(" (its master, pid %d, is gone; `pomeloctl up` adopts the servers it left, `pomeloctl down` stops them)", rec.Pid)
		}
	}
	return fmt.Errorf("%s: %w", msg, errUnreachable)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// masterAddr is the topology's master address as a client dials it.
func masterAddr(t *topology.Topology) string { return master.DialAddr(t.Masters()[0].Addr) }

// leaderAddr finds the leading master of a cluster with master HA: the
// run directory on this host records it, with where it listens; else
// ZooKeeper says who leads, wherever it runs (elsewhere). "" when neither
// knows.
func leaderAddr(ctx context.Context, t *topology.Topology, dir master.RunDir) (addr string, elsewhere bool) {
	if rec, err := dir.Master(); err == nil && rec.Alive() && rec.Addr != "" {
		return master.DialAddr(rec.Addr), false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if l, ok := ha.LeaderOf(ctx, t.HA.Zookeeper, t.HA.Path, t.HA.Auth.Value); ok {
		return master.DialAddr(l.Addr), true
	}
	return "", false
}

// leader is a client of the cluster's leading master, found again: with
// master HA and no master named, the one ZooKeeper (or this host's run
// directory) says leads now; else the master resolved at the start.
func (tg *target) leader(ctx context.Context) (*admin.Client, string) {
	addr := tg.addr
	if !tg.fixed && tg.topology != nil && tg.topology.HA != nil {
		if a, _ := leaderAddr(ctx, tg.topology, tg.runDir); a != "" {
			addr = a
		}
	}
	return admin.NewClient(addr, tg.user, tg.password), addr
}
