// Package logs reads replica output files: the last N lines, and following
// a file as it grows. The shim writes the files; this package only reads.
package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Tail returns the last n lines of the file at path (all of it when n < 0).
func Tail(path string, n int) (data []byte, end int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("logs: %w", err)
	}
	size := info.Size()
	if n < 0 {
		data, err := io.ReadAll(io.NewSectionReader(f, 0, size))
		return data, size, err
	}
	if n == 0 {
		return nil, size, nil
	}
	// Read backwards in chunks until n+1 newlines are seen (the last line
	// may end in a newline of its own).
	const chunk = 32 * 1024
	var buf []byte
	pos := size
	for pos > 0 {
		step := int64(chunk)
		if pos < step {
			step = pos
		}
		pos -= step
		part := make([]byte, step)
		if _, err := f.ReadAt(part, pos); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("logs: %w", err)
		}
		buf = append(part, buf...)
		if bytes.Count(buf, []byte{'\n'}) > n {
			break
		}
	}
	return lastLines(buf, n), size, nil
}

func lastLines(buf []byte, n int) []byte {
	trimmed := bytes.TrimSuffix(buf, []byte{'\n'})
	idx := len(trimmed)
	for i := 0; i < n; i++ {
		j := bytes.LastIndexByte(trimmed[:idx], '\n')
		if j < 0 {
			return buf
		}
		idx = j
		if i == n-1 {
			return buf[idx+1:]
		}
	}
	return buf
}

// Follow copies what is appended to path after offset into w until ctx
// ends. It polls: log lines are for people, a quarter second is quick
// enough, and it needs no inotify state to clean up.
func Follow(ctx context.Context, path string, offset int64, w io.Writer, flush func()) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	buf := make([]byte, 32*1024)
	for {
		for {
			n, err := f.ReadAt(buf, offset)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return werr
				}
				offset += int64(n)
				if flush != nil {
					flush()
				}
			}
			if err != nil || n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if info, err := f.Stat(); err == nil && info.Size() < offset {
			offset = 0 // truncated or rotated in place
		}
	}
}
