package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/orch-io/orch/api"
)

// Errors that end a watch without the server having sent an error.
var (
	// ErrWatchClosed: the server ended the stream (it fell behind, lost
	// leadership or restored a snapshot). List again, then watch.
	ErrWatchClosed = errors.New("client: watch stream closed by the server")
	// ErrWatchIdle: nothing, not even a keepalive, arrived for the idle
	// timeout; the connection is presumed dead.
	ErrWatchIdle = errors.New("client: watch stream idle, connection presumed dead")
)

// Watch streams the changes after index, of one kind ("service", "replica",
// "node", "image") or all when kind is empty. It returns at once. The
// events channel is closed when the watch ends; the error channel then
// holds exactly one error saying why: ctx's error when the caller stopped
// it, a *api.Error (api.ErrGone when index was compacted: list again),
// ErrWatchClosed, ErrWatchIdle or a connection error. Every event has been
// received by the time the error can be.
func (c *Client) Watch(ctx context.Context, index uint64, kind string) (<-chan api.WatchEvent, <-chan error) {
	events := make(chan api.WatchEvent)
	errc := make(chan error, 1)
	go func() {
		err := c.watch(ctx, index, kind, events)
		errc <- err
		close(errc)
		close(events)
	}()
	return events, errc
}

func (c *Client) watch(ctx context.Context, index uint64, kind string, events chan<- api.WatchEvent) error {
	q := url.Values{"index": {strconv.FormatUint(index, 10)}}
	if kind != "" {
		q.Set("kind", kind)
	}
	err := followJSON(ctx, c, "/v1/watch", q, func(ev api.WatchEvent) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	var we *api.Error
	if err == nil || errors.Is(err, ErrWatchIdle) || errors.Is(err, ErrWatchClosed) || errors.As(err, &we) || ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("client: watch from index %d: %w", index, err)
}

// followJSON streams newline-delimited JSON values from a GET and calls fn
// with each, until fn fails (its error is returned), ctx ends (ctx.Err()),
// the server ends the stream (ErrWatchClosed) or it falls silent past the
// idle timeout (ErrWatchIdle). json.Decoder skips the blank keepalive lines.
func followJSON[T any](ctx context.Context, c *Client, path string, q url.Values, fn func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, query: q, stream: true})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := io.Reader(resp.Body)
	var idle *idleReader
	if c.watchIdle > 0 {
		idle = newIdleReader(resp.Body, c.watchIdle, cancel)
		defer idle.stop()
		body = idle
	}
	dec := json.NewDecoder(body)
	for {
		var v T
		err := dec.Decode(&v)
		switch {
		case err == nil:
		case idle != nil && idle.fired():
			return ErrWatchIdle
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, io.EOF):
			return ErrWatchClosed
		default:
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}

// idleReader cancels the request when no byte has arrived for d.
type idleReader struct {
	r     io.Reader
	d     time.Duration
	timer *time.Timer
	mu    sync.Mutex
	fire  bool
}

func newIdleReader(r io.Reader, d time.Duration, cancel context.CancelFunc) *idleReader {
	ir := &idleReader{r: r, d: d}
	ir.timer = time.AfterFunc(d, func() {
		ir.mu.Lock()
		ir.fire = true
		ir.mu.Unlock()
		cancel()
	})
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.d)
	}
	return n, err
}

func (ir *idleReader) fired() bool {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	return ir.fire
}

func (ir *idleReader) stop() { ir.timer.Stop() }
