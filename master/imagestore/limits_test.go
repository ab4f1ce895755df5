package imagestore

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// tarball is a docker-archive naming one image, padded with a file of pad
// bytes.
func tarball(t *testing.T, pad int) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string][]byte{
		"manifest.json": []byte(`[{"RepoTags":["orch.local/hello:1"]}]`),
		"layer.tar":     make([]byte, pad),
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// onlyReader hides bytes.Reader's WriterTo, so the upload arrives in
// small writes as it does from a network.
type onlyReader struct{ io.Reader }

func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%d files left in the store after a refused upload: %v", len(entries), entries[0].Name())
	}
}

// TestPutMaxSize: an upload over the maximum is refused, whether its size
// was declared or it only shows while streaming, naming the limit and
// leaving nothing on disk; one at the limit is stored.
func TestPutMaxSize(t *testing.T) {
	data := tarball(t, 8<<10)
	dir := t.TempDir()
	s, err := Open(dir, WithMaxSize(int64(len(data))-1), WithReserve(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{int64(len(data)), -1} {
		_, err := s.Put(onlyReader{bytes.NewReader(data)}, size)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "--max-image-size") {
			t.Fatalf("declared size %d: %v, want ErrTooLarge naming the flag", size, err)
		}
		emptyDir(t, dir)
	}
	s, _ = Open(dir, WithMaxSize(int64(len(data))), WithReserve(0))
	loaded, err := s.Put(bytes.NewReader(data), -1)
	if err != nil || loaded.Size != int64(len(data)) || loaded.Names[0] != "orch.local/hello:1" {
		t.Fatalf("at the limit: %+v, %v", loaded, err)
	}
}

// TestPutFreeSpace: an upload that would leave less than the reserve free
// is refused with ErrNoSpace before it is read (declared size) or as it
// streams (unknown size), and nothing stays on disk.
func TestPutFreeSpace(t *testing.T) {
	data := tarball(t, spaceCheckEvery)
	dir := t.TempDir()
	free := int64(1<<30 + len(data)/2) // the upload would cross into the reserve
	s, err := Open(dir, WithReserve(1<<30), withFreeSpace(func(string) (int64, error) { return free, nil }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("declared size: %v, want ErrNoSpace", err)
	}
	emptyDir(t, dir)
	// Unknown length: the disk fills up while it streams.
	r := &fillingReader{Reader: bytes.NewReader(data), free: &free}
	if _, err := s.Put(r, -1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("streamed: %v, want ErrNoSpace", err)
	}
	emptyDir(t, dir)
	free = 4 << 30
	if _, err := s.Put(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("with room: %v", err)
	}
}

// fillingReader takes what it hands out from the free space, as the disk
// would.
type fillingReader struct {
	io.Reader
	free *int64
}

func (r *fillingReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	*r.free -= int64(n)
	return n, err
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{2 << 30: "2Gi", 512 << 20: "512Mi", 1536 << 20: "1536Mi", 1000: "1000 bytes"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestOpenChecksDigest: a digest that is not sha256:HEX never names a
// file, so a stored or requested name cannot reach outside the store.
func TestOpenChecksDigest(t *testing.T) {
	s, err := Open(t.TempDir(), WithReserve(0))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Put(bytes.NewReader(tarball(t, 10)), -1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(loaded.Digest)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, bad := range []string{"", "sha256:../../etc/passwd", "../" + loaded.Digest, strings.ToUpper(loaded.Digest), loaded.Digest + "/x", "sha256:" + strings.Repeat("0", 63) + "\x00"} {
		if _, err := s.Open(bad); !errors.Is(err, ErrBadDigest) {
			t.Errorf("Open(%q): %v, want ErrBadDigest", bad, err)
		}
	}
}
