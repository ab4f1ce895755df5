package imagestore

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// Defaults for the limits an upload meets. The reserve is what must stay
// free on the file system: Raft's log and snapshots live beside the images
// (DATA/raft.db), and a leader that cannot append steps down.
const (
	DefaultMaxSize = 2 << 30
	DefaultReserve = 1 << 30
	// spaceCheckEvery is how often, in bytes received, an upload of unknown
	// length looks at the free space again.
	spaceCheckEvery = 64 << 20
)

// ErrTooLarge means an upload exceeds the store's maximum size; nothing of
// it was kept.
var ErrTooLarge = errors.New("imagestore: image too large")

// ErrNoSpace means storing the upload would leave less free space than the
// reserve; nothing of it was kept.
var ErrNoSpace = errors.New("imagestore: not enough free disk space")

// Option configures a Store.
type Option func(*Store)

// WithMaxSize caps the size of one tarball (default DefaultMaxSize).
func WithMaxSize(n int64) Option { return func(s *Store) { s.maxSize = n } }

// WithReserve sets the free space an upload must leave on the store's file
// system (default DefaultReserve).
func WithReserve(n int64) Option { return func(s *Store) { s.reserve = n } }

// withFreeSpace replaces the statfs of the store's directory (tests).
func withFreeSpace(f func(dir string) (int64, error)) Option {
	return func(s *Store) { s.freeSpace = f }
}

// MaxSize is the largest tarball the store accepts.
func (s *Store) MaxSize() int64 { return s.maxSize }

// freeSpace is the space an unprivileged writer may still use under dir.
func freeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("imagestore: free space of %s: %w", dir, err)
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// checkSpace refuses when writing more bytes would leave less than the
// reserve free.
func (s *Store) checkSpace(more int64) error {
	free, err := s.freeSpace(s.dir)
	if err != nil {
		return err
	}
	if free-more < s.reserve {
		return fmt.Errorf("%w: %d MiB free on the master's data disk, %d MiB more would leave less than the %d MiB kept for Raft",
			ErrNoSpace, free>>20, more>>20, s.reserve>>20)
	}
	return nil
}

// admit checks an upload of the declared size (negative: unknown) before
// any of it is read.
func (s *Store) admit(size int64) error {
	if size > s.maxSize {
		return s.tooLarge()
	}
	return s.checkSpace(max(size, 0))
}

func (s *Store) tooLarge() error {
	return fmt.Errorf("%w: the limit is %s (the master's --max-image-size)", ErrTooLarge, formatSize(s.maxSize))
}

// guard is the destination of an upload: it stops it past the maximum
// size, and when the disk fills up while one of unknown length streams in.
type guard struct {
	s       *Store
	w       io.Writer
	n       int64
	checked int64 // n at the last free-space check
}

func (g *guard) Write(p []byte) (int, error) {
	if g.n+int64(len(p)) > g.s.maxSize {
		return 0, g.s.tooLarge()
	}
	if g.n+int64(len(p))-g.checked >= spaceCheckEvery {
		if err := g.s.checkSpace(int64(len(p))); err != nil {
			return 0, err
		}
		g.checked = g.n
	}
	n, err := g.w.Write(p)
	g.n += int64(n)
	return n, err
}

// formatSize writes n in the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
