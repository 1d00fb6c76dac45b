package ha

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// The cluster's state that a leader on another host needs and no run
// directory there holds (the monitor tokens an earlier leader generated,
// the servers added at runtime) is kept under PATH/state, one node a name.
// Only a leader writes it, and only while its election node stands: a
// master that lost its term cannot overwrite what its successor wrote.

func (s *Session) sharedPath(name string) string { return s.cfg.Path + "/state/" + name }

// Shared reads the cluster's state called name, and whether there is any.
func (s *Session) Shared(name string) ([]byte, bool, error) {
	data, _, err := s.conn.Get(s.sharedPath(name))
	if errors.Is(err, zk.ErrNoNode) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("ZooKeeper: read %s: %w", s.sharedPath(name), err)
	}
	return data, true, nil
}

// ClearShared forgets the cluster's state: `pomeloctl up` starts it anew.
func (s *Session) ClearShared() error {
	children, _, err := s.conn.Children(s.cfg.Path + "/state")
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ZooKeeper: list %s/state: %w", s.cfg.Path, err)
	}
	for _, c := range children {
		if err := s.conn.Delete(s.sharedPath(c), -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("ZooKeeper: delete %s: %w", s.sharedPath(c), err)
		}
	}
	return nil
}

// Share writes the cluster's state called name, in one transaction with
// a check that this term's election node still stands.
func (t *Term) Share(name string, data []byte) error {
	if !t.Valid() {
		return fmt.Errorf("not shared: the term ended: %w", t.Err())
	}
	if err := t.s.makePath(t.s.cfg.Path + "/state"); err != nil {
		return err
	}
	path := t.s.sharedPath(name)
	check := &zk.CheckVersionRequest{Path: t.s.cfg.Path + "/election/" + t.node, Version: -1}
	_, err := t.s.conn.Multi(check, &zk.SetDataRequest{Path: path, Data: data, Version: -1})
	if errors.Is(err, zk.ErrNoNode) {
		exists, _, xerr := t.s.conn.Exists(check.Path)
		if xerr == nil && !exists {
			return errors.New("not shared: this master's election node is gone")
		}
		_, err = t.s.conn.Multi(check, &zk.CreateRequest{Path: path, Data: data, Acl: t.s.acl})
	}
	if err != nil {
		return fmt.Errorf("ZooKeeper: write %s: %w", path, err)
	}
	return nil
}
