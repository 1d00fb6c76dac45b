package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
)

// ErrSessionClosed is returned by what a closed session can no longer do.
var ErrSessionClosed = errors.New("the session is closed")

// Session is one connected client on this frontend (Pomelo's FrontendSession).
// Its id and frontend id never change; its uid is bound once the player logs in;
// its settings are key/values that handlers keep about the player.
type Session struct {
	id  int64
	srv *Server
	c   *conn

	mu           sync.RWMutex
	uid          string
	settings     map[string]any
	settingsJSON []byte // settings encoded, kept until a Set; nil if not yet
	closed       bool
	onClose      []func(*Session)
}

// ID is unique among this frontend's sessions.
func (s *Session) ID() int64 { return s.id }

// FrontendID is the id of the frontend server holding the session.
func (s *Session) FrontendID() string { return s.srv.cfg.ServerID }

// RemoteAddr is the client's address.
func (s *Session) RemoteAddr() string { return s.c.t.remoteAddr() }

// UID is the bound user id, or "".
func (s *Session) UID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.uid
}

// Bind binds a user id to the session. With SingleSession, the uid's other
// sessions are kicked.
func (s *Session) Bind(uid string) error {
	if uid == "" {
		return errors.New("bind: empty uid")
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrSessionClosed
	case s.uid == uid:
		s.mu.Unlock()
		return nil
	case s.uid != "":
		old := s.uid
		s.mu.Unlock()
		return fmt.Errorf("bind %q: the session is already bound to %q", uid, old)
	}
	s.uid = uid
	s.mu.Unlock()
	s.srv.sessions.bind(s, uid)
	for _, fn := range s.srv.onBind {
		fn(s)
	}
	return nil
}

// Unbind removes the user id.
func (s *Session) Unbind() {
	s.mu.Lock()
	uid := s.uid
	s.uid = ""
	s.mu.Unlock()
	if uid != "" {
		s.srv.sessions.unbind(s, uid)
	}
}

// Set keeps a setting. The session keeps value as it is: a value changed
// in place afterwards must be set again, for SettingsJSON to see the change.
func (s *Session) Set(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings == nil {
		s.settings = map[string]any{}
	}
	s.settings[key] = value
	s.settingsJSON = nil
}

// SettingsJSON is every setting as a JSON object, or nil when there is
// none. The encoding is kept until the next Set: a frontend sends it with
// every request it forwards, and settings change far less often. It must
// not be modified.
func (s *Session) SettingsJSON() ([]byte, error) {
	s.mu.RLock()
	b, n := s.settingsJSON, len(s.settings)
	s.mu.RUnlock()
	if b != nil || n == 0 {
		return b, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settingsJSON == nil && len(s.settings) > 0 {
		b, err := json.Marshal(s.settings)
		if err != nil {
			return nil, err
		}
		s.settingsJSON = b
	}
	return s.settingsJSON, nil
}

// Get returns a setting, or nil.
func (s *Session) Get(key string) any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.settings[key]
}

// Settings returns a copy of every setting.
func (s *Session) Settings() map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.settings)
}

// Push sends msg to the client on route. A client that cannot keep up is kicked.
func (s *Session) Push(route string, msg any) error {
	if s.isClosed() {
		return ErrSessionClosed
	}
	return s.c.push(route, msg)
}

// EncodedPush is a push encoded once for any number of this frontend's
// clients: a message to a room's members is the same package for each, and
// encoding it per member (pomelo-protobuf, JSON) would repeat the work.
type EncodedPush struct{ pkt []byte }

// EncodePush encodes msg on route as a push package for this server's
// clients, with its route dictionary and server protos.
func (s *Server) EncodePush(route string, msg any) (*EncodedPush, error) {
	body, err := s.encodeBody(route, msg)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", route, err)
	}
	pkt, err := appendDataPacket(&protocol.Message{Type: protocol.Push, Route: route, Body: body}, s.cfg.Dict)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", route, err)
	}
	return &EncodedPush{pkt: pkt}, nil
}

// PushEncoded sends a push from EncodePush to the client; the package is
// shared, never copied. A client that cannot keep up is kicked.
func (s *Session) PushEncoded(p *EncodedPush) error {
	if s.isClosed() {
		return ErrSessionClosed
	}
	return s.c.sendPush(p.pkt)
}

// Kick tells the client why and closes its connection.
func (s *Session) Kick(reason string) error {
	if s.isClosed() {
		return ErrSessionClosed
	}
	s.c.kick(reason, websocket.CloseNormalClosure)
	return nil
}

// OnClose runs fn once the session closes (in the closing goroutine). On a
// session already closed, fn runs at once.
func (s *Session) OnClose(fn func(*Session)) {
	s.mu.Lock()
	if !s.closed {
		s.onClose = append(s.onClose, fn)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	fn(s)
}

func (s *Session) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// markClosed flips the session to closed once and returns its close hooks.
func (s *Session) markClosed() ([]func(*Session), bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	s.closed = true
	hooks := s.onClose
	s.onClose = nil
	return hooks, true
}
