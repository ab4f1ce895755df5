package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// helloTar finds (or builds) the sample image tarball.
func helloTar(t testing.TB) string {
	t.Helper()
	path, _ := filepath.Abs("../../images/hello.tar")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	path = filepath.Join(t.TempDir(), "hello.tar")
	if out, err := exec.Command("go", "run", "../../images/build", "-src", "../../images/hello", "-o", path).CombinedOutput(); err != nil {
		t.Fatalf("build the hello image: %v\n%s", err, out)
	}
	return path
}

// TestImagesReachEveryMaster: an image loaded through a follower lands on
// the leader and is copied to every master, so agents get it from any of
// them, also once the master it was loaded on is gone.
func TestImagesReachEveryMaster(t *testing.T) {
	c := newCluster(t, 3)
	tar := helloTar(t)
	fi, err := os.Stat(tar)
	if err != nil {
		t.Fatal(err)
	}
	leader := c.leader()
	var follower *master
	for _, m := range c.masters {
		if m != leader {
			follower = m
			break
		}
	}
	if out, err := c.orchctl(follower.url(), "image", "load", tar); err != nil {
		t.Fatalf("orchctl image load: %v\n%s", err, out)
	}
	serves := func(m *master) {
		t.Helper()
		c.eventually(m.id+" to serve the image", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, body, _, err := c.do(ctx, http.MethodGet, m.url(), "/v1/images/tarball?name=orch.local/hello:1", nil, nil)
			if err != nil {
				return err
			}
			if code != http.StatusOK || int64(len(body)) != fi.Size() {
				return fmt.Errorf("%d, %d bytes (want %d): %.200s", code, len(body), fi.Size(), body)
			}
			return nil
		})
	}
	for _, m := range c.masters {
		serves(m)
	}
	leader.kill9()
	for _, m := range c.live() {
		serves(m)
	}
}
