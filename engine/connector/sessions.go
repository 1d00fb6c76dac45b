package connector

import (
	"slices"
	"sync"
)

// Sessions is a frontend's registry of live sessions, by id and by uid.
type Sessions struct {
	mu    sync.RWMutex
	byID  map[int64]*Session
	byUID map[string][]*Session
	next  int64
}

func newSessions() *Sessions {
	return &Sessions{byID: map[int64]*Session{}, byUID: map[string][]*Session{}}
}

func (r *Sessions) add(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	s.id = r.next
	r.byID[s.id] = s
}

func (r *Sessions) remove(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byID, s.id)
	if uid := s.UID(); uid != "" {
		r.dropUID(s, uid)
	}
}

func (r *Sessions) bind(s *Session, uid string) {
	r.mu.Lock()
	var others []*Session
	if s.srv.cfg.SingleSession {
		others = slices.Clone(r.byUID[uid])
	}
	r.byUID[uid] = append(r.byUID[uid], s)
	r.mu.Unlock()
	for _, o := range others {
		_ = o.Kick("logged in elsewhere")
	}
}

func (r *Sessions) unbind(s *Session, uid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropUID(s, uid)
}

func (r *Sessions) dropUID(s *Session, uid string) {
	list := slices.DeleteFunc(r.byUID[uid], func(x *Session) bool { return x == s })
	if len(list) == 0 {
		delete(r.byUID, uid)
	} else {
		r.byUID[uid] = list
	}
}

// Get returns the session with id, or nil.
func (r *Sessions) Get(id int64) *Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byID[id]
}

// ByUID returns the sessions bound to uid.
func (r *Sessions) ByUID(uid string) []*Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.byUID[uid])
}

// Len is the number of live sessions.
func (r *Sessions) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byID)
}

// KickUID kicks every session of uid and returns how many there were.
func (r *Sessions) KickUID(uid, reason string) int {
	list := r.ByUID(uid)
	for _, s := range list {
		_ = s.Kick(reason)
	}
	return len(list)
}

// KickID kicks the session with id; false when there is none.
func (r *Sessions) KickID(id int64, reason string) bool {
	if s := r.Get(id); s != nil {
		return s.Kick(reason) == nil
	}
	return false
}

func (r *Sessions) all() []*Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Session, 0, len(r.byID))
	for _, s := range r.byID {
		out = append(out, s)
	}
	return out
}
