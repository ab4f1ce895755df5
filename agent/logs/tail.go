package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Tail returns the last n lines of id's output (all that is kept when
// n < 0), reaching back into rotated copies when the current file holds
// fewer, and the current file's size: where Follow should go on.
func (f *Files) Tail(id string, n int) (data []byte, end int64, err error) {
	l := f.lock(id)
	l.RLock()
	defer l.RUnlock()
	cur, err := os.Open(f.Path(id))
	if err != nil {
		return nil, 0, fmt.Errorf("logs: output of %s: %w", id, err)
	}
	defer cur.Close()
	info, err := cur.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("logs: output of %s: %w", id, err)
	}
	end = info.Size()
	segs := []segment{{cur, end}}
	for k := 1; k < f.maxFiles; k++ {
		r, err := os.Open(f.rotated(id, k))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("logs: output of %s: %w", id, err)
		}
		defer r.Close()
		st, err := r.Stat()
		if err != nil {
			return nil, 0, fmt.Errorf("logs: output of %s: %w", id, err)
		}
		segs = append(segs, segment{r, st.Size()})
	}
	data, err = lastLines(segs, n)
	if err != nil {
		return nil, 0, fmt.Errorf("logs: output of %s: %w", id, err)
	}
	return data, end, nil
}

// segment is one file of a replica's output; segments are listed newest
// first and together read as one stream, oldest first.
type segment struct {
	r    io.ReaderAt
	size int64
}

// tailChunk is how much is read at a time, from the end backwards.
const tailChunk = 32 << 10

// lastLines reads the segments backwards in chunks until it has n lines
// (or everything) and returns them. A line split across a rotation is
// joined again because the segments read as one stream. Chunks are joined
// once at the end and each is counted once, so a whole 30 MB history costs
// one pass, not one per chunk.
func lastLines(segs []segment, n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	var chunks [][]byte // newest first
	size, newlines := 0, 0
read:
	for _, s := range segs {
		for pos := s.size; pos > 0; {
			step := min(int64(tailChunk), pos)
			pos -= step
			part := make([]byte, step)
			if _, err := s.r.ReadAt(part, pos); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			chunks = append(chunks, part)
			size += len(part)
			if n < 0 {
				continue
			}
			// n+1 newlines: the last line may end in a newline of its own.
			if newlines += bytes.Count(part, []byte{'\n'}); newlines > n {
				break read
			}
		}
	}
	buf := make([]byte, 0, size)
	for i := len(chunks) - 1; i >= 0; i-- {
		buf = append(buf, chunks[i]...)
	}
	if n < 0 {
		return buf, nil
	}
	return cutLines(buf, n), nil
}

// cutLines keeps the last n lines of buf.
func cutLines(buf []byte, n int) []byte {
	trimmed := bytes.TrimSuffix(buf, []byte{'\n'})
	idx := len(trimmed)
	for i := 0; i < n; i++ {
		j := bytes.LastIndexByte(trimmed[:idx], '\n')
		if j < 0 {
			return buf
		}
		idx = j
	}
	return buf[idx+1:]
}
