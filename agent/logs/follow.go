package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// followPoll is how often Follow looks for new output: log lines are for
// people, a quarter second is quick enough, and polling needs no inotify
// state to clean up.
const followPoll = 250 * time.Millisecond

// Follow copies id's output from offset in the current file (as Tail
// returned it) into w until ctx ends, calling flush after each write. A
// rotation in between is followed: the rest of the rotated copy first,
// then the new file from its start.
func (f *Files) Follow(ctx context.Context, id string, offset int64, w io.Writer, flush func()) error {
	cur, err := os.Open(f.Path(id))
	if err != nil {
		return fmt.Errorf("logs: follow %s: %w", id, err)
	}
	defer cur.Close()
	l := f.lock(id)
	l.RLock()
	lastCopy := inode(f.rotated(id, 1))
	l.RUnlock()
	buf := make([]byte, 32<<10)
	tick := time.NewTicker(f.poll)
	defer tick.Stop()
	for {
		l.RLock()
		err := f.followStep(id, cur, &offset, &lastCopy, buf, w, flush)
		l.RUnlock()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// followStep runs under the file's read lock, so no rotation is half done.
func (f *Files) followStep(id string, cur *os.File, offset *int64, lastCopy *uint64, buf []byte, w io.Writer, flush func()) error {
	if ino := inode(f.rotated(id, 1)); ino != *lastCopy {
		// Rotated since the last look: what we had not read yet is at the
		// end of the newest copy.
		*lastCopy = ino
		if r, err := os.Open(f.rotated(id, 1)); err == nil {
			_, err := copyFrom(r, *offset, buf, w, flush)
			r.Close()
			if err != nil {
				return err
			}
		}
		*offset = 0
	}
	if info, err := cur.Stat(); err == nil && info.Size() < *offset {
		*offset = 0 // truncated by someone else
	}
	n, err := copyFrom(cur, *offset, buf, w, flush)
	*offset += n
	return err
}

// copyFrom writes r's bytes from offset to its end into w.
func copyFrom(r io.ReaderAt, offset int64, buf []byte, w io.Writer, flush func()) (int64, error) {
	var total int64
	for {
		n, err := r.ReadAt(buf, offset+total)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
			if flush != nil {
				flush()
			}
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// inode identifies the file at path, 0 when there is none.
func inode(path string) uint64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
