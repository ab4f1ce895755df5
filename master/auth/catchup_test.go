package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// lockedTable is a token table a barrier fills while requests read it.
type lockedTable struct {
	mu    sync.Mutex
	roles map[string]string
}

func (t *lockedTable) Token(digest string) *orchpb.Token {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.roles[digest]
	if !ok {
		return nil
	}
	return &orchpb.Token{Sha256: digest, Role: r}
}

// TestCatchUpsShareBarriersThatBeganAfterTheRequest: requests that arrive
// while a barrier runs share the next one, which began after them, so a
// token committed after the running barrier began is still found, and a
// burst of unknown tokens costs a few barriers rather than one each.
func TestCatchUpsShareBarriersThatBeganAfterTheRequest(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	late, lateDigest, err := NewToken(ca.Digest(), RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	bogus, _, err := NewToken(ca.Digest(), RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tab := &lockedTable{roles: map[string]string{}}
	var committed atomic.Bool // the late token is committed on the leader
	var barriers atomic.Int32
	started := make(chan struct{}, 64) // never blocks a barrier, however many run
	release := make(chan struct{})
	toks := NewTokens(tab, func(context.Context) error {
		barriers.Add(1)
		// A barrier brings in what was committed when it began.
		sawCommit := committed.Load()
		started <- struct{}{}
		<-release
		if sawCommit {
			tab.mu.Lock()
			tab.roles[lateDigest] = string(RoleAgent)
			tab.mu.Unlock()
		}
		return nil
	})

	first := make(chan error, 1)
	go func() { _, err := toks.Authenticate(bogus); first <- err }()
	<-started // a barrier runs that began before the commit
	committed.Store(true)
	const burst = 20
	var wg sync.WaitGroup
	errs := make(chan error, burst)
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := toks.Authenticate(late)
			errs <- err
		}()
	}
	// Every request of the burst waits behind the running barrier before
	// it ends, however slowly the goroutines start on a busy machine.
	for {
		toks.catchUp.mu.Lock()
		queued := toks.catchUp.queued
		toks.catchUp.mu.Unlock()
		if queued == burst {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a token committed before its request was refused: %v", err)
		}
	}
	if err := <-first; err == nil {
		t.Error("an unknown token was accepted")
	}
	if n := barriers.Load(); n > 3 {
		t.Errorf("%d requests with unknown tokens ran %d barriers, want them shared (at most 3)", burst+1, n)
	}
}
