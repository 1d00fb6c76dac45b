package metrics

import (
	"sync"
	"sync/atomic"
)

// overflow is the label value shared by every value past a children's
// limit.
const overflow = "other"

// children keeps the children of a labelled metric by key, so that a hot
// path pays a map read, not the hashing and locking of WithLabelValues.
// The map is copied on write: reads take no lock, and a new key (rare
// after the first minutes of a process) copies it. Past limit keys, every
// new key gets the child of the overflow key: a label's values stay
// bounded whatever the code that names them does.
type children[K comparable, V any] struct {
	cur   atomic.Pointer[map[K]V]
	mu    sync.Mutex
	limit int
	child func(K) V
	over  K
}

func newChildren[K comparable, V any](limit int, over K, child func(K) V) *children[K, V] {
	return &children[K, V]{limit: limit, child: child, over: over}
}

func (c *children[K, V]) get(k K) V {
	if m := c.cur.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	return c.add(k)
}

func (c *children[K, V]) add(k K) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if m := c.cur.Load(); m != nil {
		old = *m
	}
	if v, ok := old[k]; ok {
		return v
	}
	if len(old) >= c.limit {
		k = c.over
		if v, ok := old[k]; ok {
			return v
		}
	}
	m := make(map[K]V, len(old)+1)
	for key, v := range old {
		m[key] = v
	}
	v := c.child(k)
	m[k] = v
	c.cur.Store(&m)
	return v
}
