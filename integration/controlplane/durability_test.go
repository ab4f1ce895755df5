package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
)

// TestRestartAll is acceptance 3 (the masters' half): stop all three
// masters, start them again: they elect a leader and serve the same state.
func TestRestartAll(t *testing.T) {
	c := newCluster(t, 3)
	c.writeServices(c.masters[2].url(), "svc", 30)
	before := c.specs(c.masters[0].url())
	// A token made through one follower works at once on every master.
	out, err := c.orchctl(c.masters[1].url(), "token", "create", "--role", "reader")
	if err != nil {
		t.Fatalf("orchctl token create: %v\n%s", err, out)
	}
	reader := strings.TrimSpace(out)
	checkReader := func() {
		t.Helper()
		for _, m := range c.masters {
			for _, tc := range []struct {
				method string
				want   int
			}{{http.MethodGet, http.StatusOK}, {http.MethodDelete, http.StatusForbidden}} {
				req, _ := http.NewRequest(tc.method, m.url()+"/v1/namespaces/default/services/svc-1", nil)
				req.Header.Set("Authorization", "Bearer "+reader)
				resp, err := c.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("reader token at %s: %s answered %d, want %d", m.id, tc.method, resp.StatusCode, tc.want)
				}
			}
		}
	}
	checkReader()
	for _, m := range c.masters {
		m.stop()
	}
	for _, m := range c.masters {
		m.start()
	}
	c.waitHealthy(3)
	for _, m := range c.masters {
		c.eventually(m.id+" to serve the same state", func() error {
			after, err := c.list(m.url(), false)
			if err == nil {
				after, err = specsOnly(after)
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(before, after) {
				return fmt.Errorf("services differ after the restart %s", firstDiff(before, after))
			}
			return nil
		})
	}
	checkReader()
	c.writeServices(c.masters[0].url(), "more", 3)
}

// specs lists the services at base, specs only (see specsOnly).
func (c *cluster) specs(base string) []byte {
	c.t.Helper()
	list, err := c.list(base, false)
	if err == nil {
		list, err = specsOnly(list)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return list
}

// TestSnapshotSaveRestore is acceptance 5: orchctl snapshot save through a
// follower, orchd master restore into a new data directory: the new
// single-master cluster lists the same services, specs byte for byte, and
// the old admin token still works on it.
func TestSnapshotSaveRestore(t *testing.T) {
	c := newCluster(t, 3)
	for i := range 10 {
		name := fmt.Sprintf("web-%d", i)
		body := []byte(fmt.Sprintf(`{"kind":"Service","name":%q,"replicas":%d,"image":"orch.local/hello:%d","env":{"N":"%d"},"labels":{"tier":"web"},"ports":[{"name":"http","port":8080}],"resources":{"cpu":"100m","memory":"32Mi"}}`, name, 0, i, i))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code, out, _, err := c.do(ctx, http.MethodPut, c.masters[1].url(), "/v1/namespaces/default/services/"+name, body, nil)
		cancel()
		if err != nil || code != http.StatusCreated {
			t.Fatalf("put %s: %d %s %v", name, code, out, err)
		}
	}
	leader := c.leader()
	var follower *master
	for _, m := range c.masters {
		if m != leader {
			follower = m
			break
		}
	}
	before := c.specs(follower.url())
	file := filepath.Join(t.TempDir(), "backup.snap")
	if out, err := c.orchctl(follower.url(), "snapshot", "save", file); err != nil {
		t.Fatalf("orchctl snapshot save: %v\n%s", err, out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v (it holds the CA key: want mode 0600)", fi, err)
	}

	// The old cluster goes away entirely; the restore starts from the file.
	for _, m := range c.masters {
		m.kill9()
	}
	r := &master{t: t, id: "restored", dir: t.TempDir(), apiAddr: freePort(t), raftAddr: freePort(t), out: &syncBuffer{}}
	r.args = []string{"master", "restore", file, "--id", r.id, "--data-dir", r.dir, "--api-addr", r.apiAddr, "--raft-addr", r.raftAddr}
	t.Cleanup(func() {
		r.kill9()
		if t.Failed() {
			t.Logf("output of the restored master:\n%s", tail(r.out.String(), 100))
		}
	})
	r.start()
	c.masters = []*master{r}
	c.eventually("the restored cluster to serve the backup", func() error {
		after, err := c.list(r.url(), false)
		if err == nil {
			after, err = specsOnly(after)
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(before, after) {
			return fmt.Errorf("services differ %s", firstDiff(before, after))
		}
		return nil
	})
	cl := c.waitHealthy(1)
	if len(cl.Members) != 1 || cl.Members[0].ID != "restored" || cl.LeaderID != "restored" {
		t.Fatalf("restored cluster members: %+v", cl)
	}
	// Its own new admin credential works too, and it takes writes.
	conf, _, err := client.LoadConfig(filepath.Join(r.dir, "admin.conf"))
	if err != nil {
		t.Fatal(err)
	}
	api, err := client.New(conf)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.ListServices(context.Background(), ""); err != nil {
		t.Fatalf("the restored admin.conf does not work: %v", err)
	}
	c.writeServices(r.url(), "after-restore", 2)
	// A restore never overwrites a live data directory.
	r.stop()
	out, err := runOrchd(r.args...)
	if err == nil || !strings.Contains(out, "already holds") {
		t.Fatalf("restore over an existing data dir: %v\n%s", err, out)
	}
}

// TestNoQuorum is acceptance 6: with two of three masters down, writes and
// linearizable reads fail fast with 503 (no hang), and ?stale=true reads
// still answer. With one master back, writes succeed again.
func TestNoQuorum(t *testing.T) {
	c := newCluster(t, 3)
	c.writeServices(c.masters[0].url(), "kept", 3)
	leader := c.leader()
	var survivor, other *master
	for _, m := range c.masters {
		switch {
		case m == leader:
		case survivor == nil:
			survivor = m
		default:
			other = m
		}
	}
	leader.kill9()
	other.kill9()
	type call struct {
		method, path string
		body         []byte
		wantStatus   int
		wantCode     string
	}
	for _, tc := range []call{
		{http.MethodPut, "/v1/namespaces/default/services/new", serviceJSON("new", "x"), http.StatusServiceUnavailable, api.CodeNoLeader},
		{http.MethodGet, "/v1/services", nil, http.StatusServiceUnavailable, api.CodeNoLeader},
		{http.MethodGet, "/v1/namespaces/default/services/kept-1", nil, http.StatusServiceUnavailable, api.CodeNoLeader},
		{http.MethodGet, "/v1/services?stale=true", nil, http.StatusOK, ""},
		{http.MethodGet, "/v1/namespaces/default/services/kept-1?stale=true", nil, http.StatusOK, ""},
		{http.MethodGet, "/v1/cluster", nil, http.StatusOK, ""},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		code, body, _, err := c.do(ctx, tc.method, survivor.url(), tc.path, tc.body, nil)
		took := time.Since(start)
		cancel()
		if err != nil {
			t.Fatalf("%s %s: %v (after %s)", tc.method, tc.path, err, took)
		}
		if code != tc.wantStatus {
			t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.wantStatus)
		}
		if tc.wantCode != "" {
			if e := api.DecodeError(code, body); e.Code != tc.wantCode || !strings.Contains(e.Message, "no leader") {
				t.Errorf("%s %s: error %+v, want code %s with a clear message", tc.method, tc.path, e, tc.wantCode)
			}
		}
		// Fast: the leader wait (2s) and some slack for a busy machine,
		// far below any client timeout.
		if took > 10*time.Second {
			t.Errorf("%s %s answered after %s", tc.method, tc.path, took)
		}
		t.Logf("%s %s: %d after %s", tc.method, tc.path, code, took.Round(time.Millisecond))
	}
	other.start()
	c.writeServices(survivor.url(), "back", 1)
}

func runOrchd(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, orchdBin, args...).CombinedOutput()
	return string(out), err
}
