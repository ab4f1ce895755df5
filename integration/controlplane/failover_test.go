package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// errOnce keeps the first error of the workload's goroutines, which must
// not fail the test themselves.
type errOnce struct {
	mu     sync.Mutex
	err    error
	cancel context.CancelFunc
}

func (e *errOnce) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
		e.cancel()
	}
}

func (e *errOnce) get() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// TestLeaderKills is acceptance 1 and 2 of issue 3: three master processes;
// the leader is killed with SIGKILL three times (and restarted) while
// clients write and read through every master. Writes resume on another
// master each time; every acknowledged write is present afterwards with
// its content; the recorded history of reads, writes and conditional
// writes (If-Match) is linearizable.
func TestLeaderKills(t *testing.T) {
	c := newCluster(t, 3)
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	keys := []string{"reg-0", "reg-1", "reg-2", "reg-3"}
	h := newHistory()
	acked := &ackLog{acked: map[string]string{}}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	errs := &errOnce{cancel: stop}
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.registerClient(ctx, i, urls, keys, h, errs.fail)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.ackWriter(ctx, "ack", urls, acked, errs.fail)
	}()
	progress := func(what string, n int) {
		t.Helper()
		from := acked.count()
		c.eventually(what, func() error {
			if err := errs.get(); err != nil {
				t.Fatalf("workload: %v", err)
			}
			if got := acked.count() - from; got < n {
				return fmt.Errorf("%d acknowledged writes so far", got)
			}
			return nil
		})
	}
	progress("writes before the first kill", 20)
	for kill := 1; kill <= 3; kill++ {
		leader := c.leader()
		leader.kill9()
		killed := time.Now()
		progress(fmt.Sprintf("writes to resume after kill %d", kill), 5)
		// The first acknowledgement after the kill bounds how long writes
		// were unavailable (from the writer's point of view).
		t.Logf("kill %d: leader %s killed; writes acknowledged again within %s", kill, leader.id, time.Since(killed).Round(time.Millisecond))
		leader.start()
		c.waitHealthy(3)
		progress("writes with all three masters back", 10)
	}
	stop()
	wg.Wait()
	if err := errs.get(); err != nil {
		t.Fatalf("workload: %v", err)
	}

	c.checkAcked(c.leader().url(), acked)
	ops := h.operations()
	if len(ops) == 0 {
		t.Fatal("no register operation was recorded: the linearizability check would prove nothing")
	}
	t.Logf("%d acknowledged creates; history of %d register operations (%d with unknown outcome)", acked.count(), len(ops), h.unknown)
	res, info := porcupine.CheckOperationsVerbose(registerModel, ops, 60*time.Second)
	switch res {
	case porcupine.Ok:
	case porcupine.Unknown:
		t.Fatal("the linearizability check timed out")
	default:
		path := filepath.Join(os.TempDir(), fmt.Sprintf("orch-linearizability-%d.html", time.Now().Unix()))
		if err := porcupine.VisualizePath(registerModel, info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Fatal("the history is not linearizable")
	}
}
