// Package imagestore keeps OCI image tarballs on a master's disk for clusters
// without a registry: `orchctl image load` uploads one, agents download it
// when a replica needs an image their containerd lacks.
//
// It owns the files under DATA/images and reading image names out of a
// tarball; the catalogue of names (which digest a name means) is replicated
// state, written by the API through Raft, not here.
package imagestore

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Store is a directory of tarballs named by their SHA-256.
type Store struct {
	dir       string
	maxSize   int64
	reserve   int64
	freeSpace func(dir string) (int64, error)
}

// Open makes the directory if needed.
func Open(dir string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	s := &Store{dir: dir, maxSize: DefaultMaxSize, reserve: DefaultReserve, freeSpace: freeSpace}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Loaded describes a stored tarball.
type Loaded struct {
	Digest string
	Size   int64
	Names  []string
}

// ErrNoNames means the tarball names no image, so nothing could run it.
var ErrNoNames = errors.New("imagestore: the tarball names no image (want a docker-archive manifest.json with RepoTags or an OCI index.json with image name annotations)")

// Put stores a tarball read from r and returns its digest and image names.
// size is the length the sender declared, or negative when unknown. An
// upload over the maximum size (ErrTooLarge) or one that would eat into
// the disk's reserve (ErrNoSpace) is refused, before it is read when its
// declared size tells, else as soon as it crosses the line; either way
// nothing of it stays on disk.
func (s *Store) Put(r io.Reader, size int64) (*Loaded, error) {
	if err := s.admit(size); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(s.dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	g := &guard{s: s, w: io.MultiWriter(tmp, h)}
	if _, err := io.Copy(g, r); err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrNoSpace) {
			return nil, err
		}
		return nil, fmt.Errorf("imagestore: receive tarball: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	names, err := imageNames(tmp)
	if err != nil {
		return nil, err
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	path, err := s.path(digest)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	return &Loaded{Digest: digest, Size: g.n, Names: names}, nil
}

// Open returns the tarball with the given digest.
func (s *Store) Open(digest string) (*os.File, error) {
	path, err := s.path(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imagestore: image %s: %w", digest, err)
	}
	return f, nil
}

// ErrBadDigest means a digest is not "sha256:" and 64 lowercase hex
// digits, the only form Put makes; anything else never names a file.
var ErrBadDigest = errors.New("imagestore: not a sha256 digest")

func (s *Store) path(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != sha256.Size*2 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: %q", ErrBadDigest, digest)
	}
	return filepath.Join(s.dir, "sha256:"+hexPart+".tar"), nil
}

// imageNames reads the names a docker-archive or OCI-layout tarball holds.
func imageNames(r io.Reader) ([]string, error) {
	tr := tar.NewReader(r)
	set := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("imagestore: not a tar archive: %w", err)
		}
		switch filepath.Clean(hdr.Name) {
		case "manifest.json":
			var entries []struct{ RepoTags []string }
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&entries); err != nil {
				return nil, fmt.Errorf("imagestore: manifest.json: %w", err)
			}
			for _, e := range entries {
				for _, t := range e.RepoTags {
					set[t] = true
				}
			}
		case "index.json":
			var index struct {
				Manifests []struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"manifests"`
			}
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&index); err != nil {
				return nil, fmt.Errorf("imagestore: index.json: %w", err)
			}
			for _, m := range index.Manifests {
				if n := m.Annotations["io.containerd.image.name"]; n != "" {
					set[n] = true
				}
			}
		}
	}
	if len(set) == 0 {
		return nil, ErrNoNames
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
