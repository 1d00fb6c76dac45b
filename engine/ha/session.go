package ha

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Config is how a master reaches ZooKeeper, and what it says of itself.
type Config struct {
	// Servers are the ensemble's host:port addresses.
	Servers []string
	// Path is the cluster's base path ("/pomelo/master"); it is made when
	// missing.
	Path string
	// SessionTimeout is asked of the ensemble, which may grant another
	// within its bounds: a term's lease follows what it granted.
	SessionTimeout time.Duration
	// Auth is "user:password" for ZooKeeper's digest scheme, or "" for
	// none. The nodes made are then readable and writable by that user only.
	Auth string
	// ID and Addr are this master's id and admin address.
	ID, Addr string
	Logger   *slog.Logger
}

// Session is a master's ZooKeeper session, through which it campaigns and
// reads who leads. go-zookeeper re-establishes a lost session by itself;
// the Candidate sees the loss and campaigns again.
type Session struct {
	cfg  Config
	conn *zk.Conn
	acl  []zk.ACL
	log  *slog.Logger

	mu       sync.Mutex
	granted  time.Duration   // the session timeout the ensemble granted
	watchers []chan zk.Event // of session events (expiry), for terms
}

// Dial connects to the ensemble, authenticates and makes the base path.
// It returns once a session is established, or with an error naming the
// ensemble.
func Dial(cfg Config) (*Session, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("ha: no ZooKeeper servers given")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Session{cfg: cfg, log: cfg.Logger.With("zookeeper", strings.Join(cfg.Servers, ",")), granted: cfg.SessionTimeout, acl: aclFor("")}
	conn, _, err := zk.Connect(cfg.Servers, cfg.SessionTimeout, zk.WithEventCallback(s.event), zk.WithLogger(zkLogger{s}))
	if err != nil {
		return nil, fmt.Errorf("ZooKeeper %s: %w", strings.Join(cfg.Servers, ","), err)
	}
	s.conn = conn
	if err := s.waitSession(cfg.SessionTimeout + 5*time.Second); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ZooKeeper %s: %w", strings.Join(cfg.Servers, ","), err)
	}
	if cfg.Auth != "" {
		user, _, ok := strings.Cut(cfg.Auth, ":")
		if !ok {
			conn.Close()
			return nil, errors.New("ha: auth must be user:password")
		}
		if err := conn.AddAuth("digest", []byte(cfg.Auth)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ZooKeeper digest auth as %s: %w", user, err)
		}
		s.acl = aclFor(cfg.Auth)
	}
	for _, p := range []string{cfg.Path, cfg.Path + "/election"} {
		if err := s.makePath(p); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close ends the session: its nodes go at once, and the next candidate
// leads without waiting for a timeout.
func (s *Session) Close() { s.conn.Close() }

// waitSession waits until the session is established.
func (s *Session) waitSession(within time.Duration) error {
	deadline := time.Now().Add(within)
	for s.conn.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			return fmt.Errorf("no session within %s (state %s)", within, s.conn.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// makePath makes p and its parents, as persistent nodes, when missing.
func (s *Session) makePath(p string) error {
	at := ""
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		at += "/" + part
		// Look first: a parent may be another's, in which this session
		// may make nothing (an operator's /pomelo, say).
		if exists, _, err := s.conn.Exists(at); err == nil && exists {
			continue
		}
		_, err := s.conn.Create(at, nil, 0, s.acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("ZooKeeper: make %s: %w", at, err)
		}
	}
	return nil
}

// Granted is the session timeout the ensemble granted.
func (s *Session) Granted() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.granted
}

// State is the session's state, as `pomeloctl ls` shows it.
func (s *Session) State() string {
	switch st := s.conn.State(); st {
	case zk.StateHasSession:
		return "connected"
	case zk.StateExpired:
		return "expired"
	case zk.StateDisconnected, zk.StateConnecting:
		return "disconnected"
	default:
		return strings.TrimPrefix(st.String(), "State")
	}
}

// event takes go-zookeeper's events as they happen (its channel drops
// them when full), and hands session events on to the terms that watch.
func (s *Session) event(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s.mu.Lock()
	ws := s.watchers
	s.mu.Unlock()
	for _, w := range ws {
		select {
		case w <- ev:
		default:
		}
	}
}

// watch gives session events from now on, until stop.
func (s *Session) watch() (<-chan zk.Event, func()) {
	ch := make(chan zk.Event, 8)
	s.mu.Lock()
	s.watchers = append(s.watchers, ch)
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.watchers {
			if w == ch {
				s.watchers = append(s.watchers[:i], s.watchers[i+1:]...)
				return
			}
		}
	}
}

// zkLogger puts go-zookeeper's lines in the master's log, and takes from
// them the session timeout the ensemble granted, which it does not give
// otherwise.
type zkLogger struct{ s *Session }

func (l zkLogger) Printf(format string, args ...any) {
	if format == "authenticated: id=%d, timeout=%d" && len(args) == 2 {
		if ms, ok := args[1].(int32); ok && ms > 0 {
			l.s.mu.Lock()
			l.s.granted = time.Duration(ms) * time.Millisecond
			l.s.mu.Unlock()
		}
	}
	l.s.log.Debug("zookeeper: " + fmt.Sprintf(format, args...))
}

// MarkDown records that the cluster is being brought down on purpose
// (`pomeloctl down`): a standby elected after this leaves instead of
// adopting and restarting what is being stopped.
func (s *Session) MarkDown() error {
	_, err := s.conn.Create(s.cfg.Path+"/down", nil, 0, s.acl)
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("ZooKeeper: mark %s/down: %w", s.cfg.Path, err)
	}
	return nil
}

// ClearDown forgets a cluster brought down: `pomeloctl up` starts it
// again.
func (s *Session) ClearDown() error {
	err := s.conn.Delete(s.cfg.Path+"/down", -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("ZooKeeper: clear %s/down: %w", s.cfg.Path, err)
	}
	return nil
}

// IsDown reports whether the cluster was brought down (MarkDown).
func (s *Session) IsDown() (bool, error) {
	exists, _, err := s.conn.Exists(s.cfg.Path + "/down")
	if err != nil {
		return false, fmt.Errorf("ZooKeeper: read %s/down: %w", s.cfg.Path, err)
	}
	return exists, nil
}

// Promote asks that master id lead next (PATH/promote): a master elected
// before it hands over at once, until id is. See RunHA.
func (s *Session) Promote(id string) error {
	path := s.cfg.Path + "/promote"
	_, err := s.conn.Create(path, []byte(id), 0, s.acl)
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = s.conn.Set(path, []byte(id), -1)
	}
	if err != nil {
		return fmt.Errorf("ZooKeeper: write %s: %w", path, err)
	}
	return nil
}

// Promoted is the master asked to lead next, if one is.
func (s *Session) Promoted() (string, bool, error) {
	data, _, err := s.conn.Get(s.cfg.Path + "/promote")
	if errors.Is(err, zk.ErrNoNode) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("ZooKeeper: read %s/promote: %w", s.cfg.Path, err)
	}
	return string(data), true, nil
}

// ClearPromoted forgets the request: the master asked for leads, or is
// no longer there to.
func (s *Session) ClearPromoted() error {
	err := s.conn.Delete(s.cfg.Path+"/promote", -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("ZooKeeper: clear %s/promote: %w", s.cfg.Path, err)
	}
	return nil
}
