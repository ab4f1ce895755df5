package runtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestImportAndEnsureImage(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	names, err := e.rt.ImportImage(ctx, bytes.NewReader(testImageTar))
	if err != nil {
		t.Fatalf("second ImportImage: %v", err)
	}
	if len(names) != 1 || names[0] != testImageRef {
		t.Errorf("ImportImage names = %v, want [%s]", names, testImageRef)
	}
	if err := e.rt.EnsureImage(ctx, testImageRef); err != nil {
		t.Errorf("EnsureImage of an imported image: %v", err)
	}
	img, err := e.rt.client.GetImage(e.rt.ns(ctx), testImageRef)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := img.IsUnpacked(e.rt.ns(ctx), DefaultSnapshotter); err != nil || !ok {
		t.Errorf("IsUnpacked = %v, %v after import, want true", ok, err)
	}
	// Without a source or registry, an absent image is an error.
	if err := e.rt.EnsureImage(ctx, "127.0.0.1:1/absent:1"); err == nil {
		t.Error("EnsureImage of an image nobody has: no error")
	}
}

func TestEnsureImageFromSource(t *testing.T) {
	var calls atomic.Int32
	src := func(_ context.Context, ref string) (io.ReadCloser, error) {
		calls.Add(1)
		if ref != testImageRef {
			return nil, fmt.Errorf("source has no %s: %w", ref, ErrNotFound)
		}
		return io.NopCloser(bytes.NewReader(testImageTar)), nil
	}
	// A second namespace, so that the image imported by newTestEnv is absent.
	e := newTestEnv(t)
	rt, err := NewContainerd(testContext(t), e.socket, WithNamespace("other"),
		WithRuncRoot(e.daemon.RuncRoot()), WithImageSource(src))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx := testContext(t)
	for i := range 2 {
		if err := rt.EnsureImage(ctx, testImageRef); err != nil {
			t.Fatalf("EnsureImage #%d: %v", i+1, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("image source called %d times, want 1 (the second call finds the image)", n)
	}
	if err := rt.Create(ctx, e.config("from-source", "/testbin", "echo")); err != nil {
		t.Errorf("Create from a sourced image: %v", err)
	}
}

// TestEnsureImagePullsWhenSourceLacksIt serves the image from an in-process
// registry on 127.0.0.1 (containerd's resolver speaks plain HTTP to
// localhost).
func TestEnsureImagePullsWhenSourceLacksIt(t *testing.T) {
	e := newTestEnv(t, WithImageSource(func(_ context.Context, ref string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}))
	ref := pushTestImage(t, false, "pulled:1")
	ctx := testContext(t)
	if err := e.rt.EnsureImage(ctx, ref); err != nil {
		t.Fatalf("EnsureImage(%s): %v", ref, err)
	}
	exits := e.run(t, ContainerConfig{ID: "pulled", Image: ref, LogPath: filepath.Join(e.logDir, "pulled.log")})
	if s := awaitExit(t, exits, 10*time.Second); s.Err != nil || s.Code != 0 {
		t.Errorf("pulled container exit = %+v, want code 0", s)
	}
}
