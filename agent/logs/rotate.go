package logs

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Rotate rotates id's file if it is past the size limit: the copies shift
// up (the oldest is dropped), the current content is copied to the first,
// and the file is truncated in place.
func (f *Files) Rotate(id string) (bool, error) {
	path := f.Path(id)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("logs: rotate %s: %w", id, err)
	}
	if info.Size() <= f.maxSize {
		return false, nil
	}
	l := f.lock(id)
	l.Lock()
	defer l.Unlock()

	tmp := f.rotated(id, 1) + ".tmp"
	if err := copyAll(path, tmp); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("logs: rotate %s: %w", id, err)
	}
	for n := f.maxFiles - 1; n >= 1; n-- {
		from := f.rotated(id, n)
		if n == f.maxFiles-1 {
			if err := os.Remove(from); err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, fmt.Errorf("logs: rotate %s: %w", id, err)
			}
			continue
		}
		if err := os.Rename(from, f.rotated(id, n+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("logs: rotate %s: %w", id, err)
		}
	}
	if err := os.Rename(tmp, f.rotated(id, 1)); err != nil {
		return false, fmt.Errorf("logs: rotate %s: %w", id, err)
	}
	return true, nil
}

// copyAll copies src to dst and truncates src, chasing what is appended
// meanwhile so that only the last instant's writes can be lost.
func copyAll(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	var off int64
	for range 4 {
		n, err := io.Copy(out, io.NewSectionReader(in, off, 1<<62))
		if err != nil {
			return err
		}
		off += n
		if n == 0 {
			break
		}
	}
	if err := out.Sync(); err != nil {
		return err
	}
	return in.Truncate(0)
}
