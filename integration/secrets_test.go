package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

const secretsYAML = `
kind: Service
name: web
replicas: 1
image: orch.local/hello:1
args: ["--port=8080"]
secrets: [{name: db, mountPath: /run/secrets/db}]
configs: [{name: web-conf, mountPath: /etc/web}]
envFrom: {DB_PASSWORD: {secret: db, key: password}, MODE: {config: web-conf, key: mode}}
update: {minHealthy: 1s}
stopGracePeriod: 1s
`

func randomValue(t *testing.T, prefix string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// TestSecrets: a secret mounted on tmpfs and set in the environment, a
// config mounted and set too; no answer of the API (admin or reader), no
// watch event, no log line and no file of the data dir or of a snapshot
// holds the secret's value; rotating the secret rolls the service and the
// new replica sees the new value; a secret in use cannot be deleted.
func TestSecrets(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	ctx := context.Background()
	v1, v2 := randomValue(t, "first-"), randomValue(t, "second-")
	w := d.watchAll(ctx)

	if _, errOut, code := d.orchctl(t, "secret", "create", "db", "--from-literal", "password="+v1, "--from-literal", "user=app"); code != 0 {
		t.Fatalf("secret create: exit %d: %s", code, errOut)
	}
	if _, errOut, code := d.orchctl(t, "config", "create", "web-conf", "--from-literal", "mode=fast"); code != 0 {
		t.Fatalf("config create: exit %d: %s", code, errOut)
	}
	missing, _ := manifest.ParseOne([]byte(strings.Replace(secretsYAML, "{name: db,", "{name: nope,", 1)))
	if _, err := d.api.ApplyService(ctx, missing, nil); err == nil || !strings.Contains(err.Error(), "secrets[0].name") {
		t.Fatalf("a service naming a missing secret: %v, want an error naming secrets[0].name", err)
	}
	d.apply(secretsYAML)
	rep := d.running("web", 1)[0]
	d.replicaSees(rep.GetIp(), "/file?path=/run/secrets/db/password", v1)
	d.replicaSees(rep.GetIp(), "/env?name=DB_PASSWORD", v1)
	d.replicaSees(rep.GetIp(), "/file?path=/etc/web/mode", "fast")
	d.replicaSees(rep.GetIp(), "/env?name=MODE", "fast")
	d.checkTmpfs(rep.GetId(), true)

	// Reads, with the admin's token and a reader's.
	d.noValueInReads(t, v1)
	out, _, _ := d.orchctl(t, "get", "secrets", "-o", "json")
	if strings.Contains(out, v1) || !strings.Contains(out, "password") {
		t.Fatalf("get secrets -o json: %s", out)
	}
	if _, errOut, code := d.orchctl(t, "delete", "secret", "db"); code == 0 || !strings.Contains(errOut, "default/web") {
		t.Fatalf("delete of a secret in use: exit %d, %s", code, errOut)
	}

	// Rotation rolls the service; the new replica sees the new value.
	if _, errOut, code := d.orchctl(t, "secret", "create", "db", "--from-literal", "password="+v2, "--from-literal", "user=app"); code != 0 {
		t.Fatalf("secret rotate: exit %d: %s", code, errOut)
	}
	var rotated *orchpb.Replica
	d.eventually("a replica of the new generation runs", func() error {
		reps := d.running("web", 1)
		if reps[0].GetGeneration() != 2 {
			return fmt.Errorf("generation %d", reps[0].GetGeneration())
		}
		rotated = reps[0]
		return nil
	})
	d.replicaSees(rotated.GetIp(), "/file?path=/run/secrets/db/password", v2)
	d.replicaSees(rotated.GetIp(), "/env?name=DB_PASSWORD", v2)
	d.eventually("the old replica's tmpfs is gone", func() error { return d.tmpfsState(rep.GetId(), false) })

	// An agent restart keeps the replica (same task) and its mounts.
	pid := d.tasks()[rotated.GetId()]
	d.kill9()
	d.start()
	if after := d.tasks()[rotated.GetId()]; after != pid || pid == 0 {
		t.Fatalf("task of %s: pid %d before the restart, %d after", rotated.GetId(), pid, after)
	}
	d.checkTmpfs(rotated.GetId(), true)
	d.replicaSees(rotated.GetIp(), "/file?path=/run/secrets/db/password", v2)

	snap := filepath.Join(t.TempDir(), "backup.orch")
	if _, errOut, code := d.orchctl(t, "snapshot", "save", snap); code != 0 {
		t.Fatalf("snapshot save: exit %d: %s", code, errOut)
	}
	for _, v := range []string{v1, v2} {
		if data, _ := os.ReadFile(snap); bytes.Contains(data, []byte(v)) {
			t.Fatal("the snapshot holds a secret value")
		}
		d.noValueInFiles(t, v)
		if strings.Contains(d.orchd.output(), v) {
			t.Fatal("orchd's log holds a secret value")
		}
		if strings.Contains(w.text(), v) {
			t.Fatal("a watch event holds a secret value")
		}
	}
	d.noValueInReads(t, v2)
}

// watchAll records every watch event's line from now on.
type watchRecorder struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *watchRecorder) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (d *devCluster) watchAll(ctx context.Context) *watchRecorder {
	d.t.Helper()
	_, index, err := d.api.ListReplicas(ctx, client.ReplicaFilter{})
	if err != nil {
		d.t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	d.t.Cleanup(cancel)
	events, _ := d.api.Watch(wctx, index, "")
	w := &watchRecorder{}
	go func() {
		for ev := range events {
			w.mu.Lock()
			w.buf.Write(ev.Object)
			w.buf.WriteByte('\n')
			w.mu.Unlock()
		}
	}()
	return w
}

func (d *devCluster) replicaSees(ip, path, want string) {
	d.t.Helper()
	d.eventually("the replica answers "+path, func() error {
		body, err := httpGet("http://" + ip + ":8080" + path)
		if err != nil {
			return err
		}
		if strings.TrimSpace(body) != want {
			return fmt.Errorf("%s: %q, want the expected value", path, strings.TrimSpace(body))
		}
		return nil
	})
}

// noValueInReads reads the secret, its list, the service and its replicas
// with the admin's token and with a reader's.
func (d *devCluster) noValueInReads(t *testing.T, value string) {
	t.Helper()
	ctx := context.Background()
	tok, err := d.api.CreateToken(ctx, api.TokenRequest{Role: "reader"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := client.LoadConfig(d.adminConf())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Token = tok.Token
	reader, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{d.api, reader} {
		for _, path := range []string{"/v1/namespaces/default/secrets/db", "/v1/namespaces/default/secrets", "/v1/secrets",
			"/v1/namespaces/default/services/web", "/v1/replicas", "/v1/events", "/v1/namespaces/default/configs/web-conf"} {
			var body []byte
			if _, err := c.Do(ctx, http.MethodGet, path, nil, &body); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			if bytes.Contains(body, []byte(value)) {
				t.Fatalf("GET %s answers the secret's value", path)
			}
		}
	}
	var cfgBody []byte
	if _, err := reader.Do(ctx, http.MethodGet, "/v1/namespaces/default/configs/web-conf", nil, &cfgBody); err != nil || !bytes.Contains(cfgBody, []byte("fast")) {
		t.Fatalf("a reader reads a config: %s, %v", cfgBody, err)
	}
}

// noValueInFiles greps every file of the data dir (Raft log, snapshots,
// saved assignments, logs) but the secrets' own tmpfs.
func (d *devCluster) noValueInFiles(t *testing.T, value string) {
	t.Helper()
	err := filepath.WalkDir(d.dataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // removed meanwhile
		}
		if e.IsDir() && strings.HasSuffix(e.Name(), ".secrets") {
			return filepath.SkipDir
		}
		if !e.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, []byte(value)) {
			return fmt.Errorf("%s holds a secret value", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkTmpfs fails unless the replica's secret is (or is not) on a tmpfs.
func (d *devCluster) checkTmpfs(replicaID string, mounted bool) {
	d.t.Helper()
	if err := d.tmpfsState(replicaID, mounted); err != nil {
		d.t.Fatal(err)
	}
}

func (d *devCluster) tmpfsState(replicaID string, mounted bool) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	found := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, replicaID+".secrets/") && strings.Contains(line, " - tmpfs ") {
			found = true
		}
	}
	if found != mounted {
		return fmt.Errorf("tmpfs of %s mounted: %v, want %v", replicaID, found, mounted)
	}
	return nil
}
