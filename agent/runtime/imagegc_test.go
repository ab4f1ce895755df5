package runtime

import (
	"errors"
	"slices"
	"testing"
)

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
