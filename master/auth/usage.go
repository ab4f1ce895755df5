package auth

import (
	"sync"
	"time"
)

// usage is when this master last accepted each token, since the master
// last handed the times over (TakeUsage). Recording is a map write under a
// lock: authentication must not wait for Raft, so the master writes these
// times through Raft in batches (see Master.flushTokenUse).
type usage struct {
	mu   sync.Mutex
	last map[string]time.Time // token id -> last accepted
}

func (u *usage) record(id string, at time.Time) {
	if id == "" {
		return
	}
	u.mu.Lock()
	if u.last == nil {
		u.last = map[string]time.Time{}
	}
	if at.After(u.last[id]) {
		u.last[id] = at
	}
	u.mu.Unlock()
}

// TakeUsage returns when each token was last accepted here since the last
// call, and forgets it.
func (t *Tokens) TakeUsage() map[string]time.Time {
	t.used.mu.Lock()
	defer t.used.mu.Unlock()
	out := t.used.last
	t.used.last = nil
	return out
}

// LastUsed returns when this master last accepted token id, if it did
// since the last TakeUsage: fresher than what the table has.
func (t *Tokens) LastUsed(id string) (time.Time, bool) {
	t.used.mu.Lock()
	defer t.used.mu.Unlock()
	at, ok := t.used.last[id]
	return at, ok
}

// ReturnUsage puts back times TakeUsage gave that could not be written,
// keeping any newer one recorded since.
func (t *Tokens) ReturnUsage(last map[string]time.Time) {
	for id, at := range last {
		t.used.record(id, at)
	}
}
