package runtime

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// pushTestImage serves the test image from an in-process registry at ref
// (HOST:PORT/repo:tag), over TLS when tls is set, and returns the ref.
func pushTestImage(t *testing.T, tls bool, repo string) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	ref := u.Host + "/" + repo
	tag, err := name.NewTag(testImageRef)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(testImageTar)), nil }, &tag)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{}
	if tls {
		opts = append(opts, remote.WithTransport(srv.Client().Transport))
	}
	if err := remote.Write(dst, img, opts...); err != nil {
		t.Fatalf("push to test registry: %v", err)
	}
	return ref
}

// TestPullOverTLSWithAnyCertificate: a registry on loopback with a
// self-signed certificate is insecure by rule, so HTTPS without
// verification is tried first and works.
func TestPullOverTLSWithAnyCertificate(t *testing.T) {
	e := newTestEnv(t)
	ref := pushTestImage(t, true, "tls:1")
	if err := e.rt.EnsureImage(testContext(t), ref); err != nil {
		t.Fatalf("EnsureImage(%s) from a self-signed registry: %v", ref, err)
	}
}

func TestImageCollectorPrimitives(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	pulled := pushTestImage(t, false, "gc:1")
	if err := e.rt.EnsureImage(ctx, pulled); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.EnsureImage(ctx, testImageRef); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.Create(ctx, e.config("user", "/testbin", "echo")); err != nil {
		t.Fatal(err)
	}

	infos, err := e.rt.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]ImageInfo{}
	for _, i := range infos {
		byName[i.Name] = i
	}
	used, free := byName[testImageRef], byName[pulled]
	if !used.InUse || free.InUse {
		t.Errorf("InUse: %s=%v (a container uses it), %s=%v (none does)", testImageRef, used.InUse, pulled, free.InUse)
	}
	if used.Size <= 0 || used.LastUsed.IsZero() {
		t.Errorf("%s: size %d, last used %v: want both set", testImageRef, used.Size, used.LastUsed)
	}
	if !free.LastUsed.Before(used.LastUsed) {
		t.Errorf("last used: %s at %v, %s at %v; want the later EnsureImage later", pulled, free.LastUsed, testImageRef, used.LastUsed)
	}

	if err := e.rt.RemoveImage(ctx, testImageRef); !errors.Is(err, ErrInUse) {
		t.Errorf("RemoveImage of an image in use: %v, want ErrInUse", err)
	}
	if err := e.rt.RemoveImage(ctx, pulled); err != nil {
		t.Fatalf("RemoveImage(%s): %v", pulled, err)
	}
	infos, err = e.rt.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(infos, func(i ImageInfo) bool { return i.Name == pulled }) {
		t.Errorf("%s still listed after RemoveImage", pulled)
	}
	du, err := e.rt.ImageDisk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if du.Path == "" || du.Total == 0 || du.Used > du.Total || du.Percent() <= 0 {
		t.Errorf("ImageDisk = %+v", du)
	}
}
