package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Files.
const (
	DefaultMaxSize       = 10 << 20
	DefaultMaxFiles      = 3
	DefaultCheckInterval = 10 * time.Second
)

// Files is a directory of per-replica output files. Its methods are safe
// for concurrent use.
type Files struct {
	dir string
	// maxSize is the size past which a file is rotated; maxFiles counts
	// the current file and its rotated copies.
	maxSize  int64
	maxFiles int
	log      *slog.Logger
	poll     time.Duration // how often Follow looks

	mu    sync.Mutex
	locks map[string]*sync.RWMutex
}

// Option configures New.
type Option func(*Files)

// WithMaxSize sets the size past which a file is rotated (default 10 MiB).
func WithMaxSize(n int64) Option { return func(f *Files) { f.maxSize = n } }

// WithMaxFiles sets how many files a replica keeps, the current one
// included (default 3; at least 2).
func WithMaxFiles(n int) Option { return func(f *Files) { f.maxFiles = n } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(f *Files) { f.log = l } }

// New manages the files under dir.
func New(dir string, opts ...Option) *Files {
	f := &Files{dir: dir, maxSize: DefaultMaxSize, maxFiles: DefaultMaxFiles, log: slog.New(slog.DiscardHandler), poll: followPoll, locks: map[string]*sync.RWMutex{}}
	for _, o := range opts {
		o(f)
	}
	if f.maxSize <= 0 {
		f.maxSize = DefaultMaxSize
	}
	f.maxFiles = max(f.maxFiles, 2)
	return f
}

// Path is where the shim writes id's output.
func (f *Files) Path(id string) string { return filepath.Join(f.dir, id+".log") }

// rotated is the path of id's n-th rotated copy (1 is the newest).
func (f *Files) rotated(id string, n int) string {
	return f.Path(id) + "." + strconv.Itoa(n)
}

func (f *Files) lock(id string) *sync.RWMutex {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.locks[id]
	if l == nil {
		l = &sync.RWMutex{}
		f.locks[id] = l
	}
	return l
}

// Remove deletes id's files, rotated copies included.
func (f *Files) Remove(id string) error {
	l := f.lock(id)
	l.Lock()
	defer l.Unlock()
	var errs []error
	for n := 0; n < f.maxFiles+2; n++ {
		p := f.Path(id)
		if n > 0 {
			p = f.rotated(id, n)
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	f.mu.Lock()
	delete(f.locks, id)
	f.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logs: remove output of %s: %w", id, err)
	}
	return nil
}

// Run rotates every file past the size limit every interval until ctx ends.
func (f *Files) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.RotateAll()
	}
}

// RotateAll rotates every file in the directory that is past the limit.
func (f *Files) RotateAll() {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			f.log.Warn("list log files", "dir", f.dir, "err", err)
		}
		return
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if _, err := f.Rotate(id); err != nil {
			f.log.Warn("rotate log", "replica", id, "err", err)
		}
	}
}
