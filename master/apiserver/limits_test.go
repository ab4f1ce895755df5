package apiserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/master/events"
	"github.com/orch-io/orch/master/imagestore"
)

// TestPlanDocumentLimit: a plan of more documents than maxPlanDocuments
// is refused with 400 naming the limit; one at the limit is planned.
func TestPlanDocumentLimit(t *testing.T) {
	s := newTestServer(t, nil)
	manifest := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "---\nkind: Service\nname: svc-%d\nimage: orch.local/hello:1\nreplicas: 0\n", i)
		}
		return b.String()
	}
	rec := call(s, http.MethodPost, "/v1/plan", "reader", strings.NewReader(manifest(maxPlanDocuments+1)))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), fmt.Sprintf("at most %d documents", maxPlanDocuments)) {
		t.Fatalf("plan of %d documents: %d %s", maxPlanDocuments+1, rec.Code, rec.Body)
	}
	rec = call(s, http.MethodPost, "/v1/plan", "reader", strings.NewReader(manifest(maxPlanDocuments)))
	if rec.Code != http.StatusOK {
		t.Fatalf("plan of %d documents: %d %s", maxPlanDocuments, rec.Code, rec.Body)
	}
}

// TestStreamsPerToken: past MaxStreams open watch and follow streams, a
// token's next one is answered 429 naming the limit; another token is not
// affected; closing a stream frees its slot; plain reads are not counted.
func TestStreamsPerToken(t *testing.T) {
	s := newTestServer(t, func(d *Deps) {
		d.MaxStreams = 2
		d.Events = events.NewLog(0, nil)
	})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close) // after the streams end: cleanups run last first
	open := func(path, token string) (*http.Response, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); resp.Body.Close() })
		return resp, cancel
	}
	first, closeFirst := open("/v1/watch", "reader-a")
	second, _ := open("/v1/events?follow=true", "reader-a")
	if first.StatusCode != http.StatusOK || second.StatusCode != http.StatusOK {
		t.Fatalf("streams within the cap: %d, %d", first.StatusCode, second.StatusCode)
	}
	if rec := call(s, http.MethodGet, "/v1/services", "reader-a", nil); rec.Code != http.StatusOK {
		t.Fatalf("a plain read at the cap: %d %s", rec.Code, rec.Body)
	}
	third, _ := open("/v1/watch", "reader-a")
	body, _ := io.ReadAll(third.Body)
	if third.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "2 watch, follow and exec streams") {
		t.Fatalf("past the cap: %d %s", third.StatusCode, body)
	}
	if other, _ := open("/v1/watch", "reader-b"); other.StatusCode != http.StatusOK {
		t.Fatalf("another token: %d", other.StatusCode)
	}
	closeFirst()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := open("/v1/watch", "reader-a")
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed stream's slot was not released: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestImageUploadLimits: an upload over the store's maximum is answered
// 413 naming the flag, one the disk cannot take while keeping its reserve
// 507; neither leaves a file behind.
func TestImageUploadLimits(t *testing.T) {
	for _, tt := range []struct {
		opt    imagestore.Option
		status int
		text   string
	}{
		{imagestore.WithMaxSize(1 << 10), http.StatusRequestEntityTooLarge, "--max-image-size"},
		{imagestore.WithReserve(1 << 62), http.StatusInsufficientStorage, "kept for Raft"},
	} {
		dir := t.TempDir()
		images, err := imagestore.Open(dir, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		s := newTestServer(t, func(d *Deps) { d.Images = images })
		rec := call(s, http.MethodPost, "/v1/images", "admin", strings.NewReader(strings.Repeat("x", 4<<10)))
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.text) {
			t.Errorf("want %d naming %q, got %d %s", tt.status, tt.text, rec.Code, rec.Body)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%d files left behind", len(entries))
		}
	}
}
