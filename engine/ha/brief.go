package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// The control commands reach ZooKeeper on short sessions of their own:
// who leads, mark the cluster down, wait for the masters to leave.

// briefly runs fn on a short session with the ensemble, authenticated
// with auth ("user:password", or none), until it returns or ctx ends (a
// request on an ensemble that cannot be reached would wait for good: the
// session's close ends it).
func briefly(ctx context.Context, servers []string, auth string, fn func(conn *zk.Conn, acl []zk.ACL) error) error {
	conn, _, err := zk.Connect(servers, 4*time.Second, zk.WithLogger(silent{}))
	if err != nil {
		return fmt.Errorf("ZooKeeper %v: %w", servers, err)
	}
	defer conn.Close()
	done := make(chan error, 1)
	go func() {
		if auth != "" {
			if err := conn.AddAuth("digest", []byte(auth)); err != nil {
				done <- err
				return
			}
		}
		done <- fn(conn, aclFor(auth))
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("ZooKeeper %v: no answer: %w", servers, ctx.Err())
	}
}

// aclFor is what the nodes a master makes allow: everything to the user
// of auth alone, or to anyone without auth.
func aclFor(auth string) []zk.ACL {
	user, password, ok := strings.Cut(auth, ":")
	if !ok {
		return zk.WorldACL(zk.PermAll)
	}
	return zk.DigestACL(zk.PermAll, user, password)
}

// silent drops go-zookeeper's lines, for a control command's short read.
type silent struct{}

func (silent) Printf(string, ...any) {}

// LeaderOf reads who leads the cluster at path, for a control command.
// ok is false when no leader is published, or ZooKeeper does not answer
// before ctx ends.
func LeaderOf(ctx context.Context, servers []string, path, auth string) (Leader, bool) {
	var l Leader
	err := briefly(ctx, servers, auth, func(conn *zk.Conn, _ []zk.ACL) error {
		data, _, err := conn.Get(path + "/leader")
		if err != nil {
			return err
		}
		return json.Unmarshal(data, &l)
	})
	return l, err == nil && l.Addr != ""
}

// WaitElectionEmpty waits until no master is in the election at path, or
// ctx ends: the managed ZooKeeper stops only once every master has left.
func WaitElectionEmpty(ctx context.Context, servers []string, path, auth string) {
	_ = briefly(ctx, servers, auth, func(conn *zk.Conn, _ []zk.ACL) error {
		for ctx.Err() == nil {
			names, _, err := conn.Children(path + "/election")
			if err == nil && len(names) == 0 || errors.Is(err, zk.ErrNoNode) {
				return nil
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		return ctx.Err()
	})
}

// MarkDownAt marks the cluster at path down (see Session.MarkDown), for
// `pomeloctl down`.
func MarkDownAt(ctx context.Context, servers []string, path, auth string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := briefly(ctx, servers, auth, func(conn *zk.Conn, acl []zk.ACL) error {
		_, err := conn.Create(path+"/down", nil, 0, acl)
		if errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNoNode) {
			return nil // down already; or no master ever ran there
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("ZooKeeper: mark %s/down: %w", path, err)
	}
	return nil
}
