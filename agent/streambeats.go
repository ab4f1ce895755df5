package agent

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// headerBeats is the answer's header by which a master says it takes
// heartbeats up the assignment stream (?beats=true).
const headerBeats = "X-Orch-Beats"

// streamBeats is the request body of an assignment stream: the node's bare
// heartbeats, each one zero byte (an empty StatusReport, length-delimited).
// A heartbeat at rest then costs one HTTP/2 data frame on a connection open
// anyway, instead of a request and its answer.
type streamBeats struct {
	// due holds the one heartbeat not yet read by the transport: a beat
	// while one waits adds nothing.
	due  chan struct{}
	done chan struct{}
	once sync.Once
}

func newStreamBeats() *streamBeats {
	return &streamBeats{due: make(chan struct{}, 1), done: make(chan struct{})}
}

// Read blocks until a heartbeat is due, and gives it; io.EOF once closed.
func (b *streamBeats) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	select {
	case <-b.done:
		return 0, io.EOF
	case <-b.due:
		p[0] = 0
		return 1, nil
	}
}

// Close ends the body: the master sees the end of the request.
func (b *streamBeats) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// onlyOverHTTP2 returns ctx with a trace that ends beats before its first
// byte unless the stream's connection speaks HTTP/2: an HTTP/1.1 server
// (some masters of v0.2.0-dev spoke only that) reads a request's body
// before it answers, and this one never ends on its own.
func (b *streamBeats) onlyOverHTTP2(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		tc, ok := info.Conn.(*tls.Conn)
		if !ok || tc.ConnectionState().NegotiatedProtocol != "h2" {
			b.Close()
		}
	}})
}

// beat queues a heartbeat, unless one waits already.
func (b *streamBeats) beat() {
	select {
	case b.due <- struct{}{}:
	default:
	}
}

// takeStreamBeats makes beats the way bare heartbeats go, when the
// master's answer h says it takes them; otherwise beats ends at once.
// The stream then beats on its own clock (every c.beatEvery) until it
// ends: a report on its way (its answer can take seconds from a busy
// leader) delays no heartbeat.
func (c *masterConn) takeStreamBeats(beats *streamBeats, h http.Header) {
	if h.Get(headerBeats) != "stream" {
		beats.Close()
		return
	}
	c.beats.Store(beats)
	go beats.every(c.beatEvery)
}

// every beats each interval until the body is closed.
func (b *streamBeats) every(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-tick.C:
			b.beat()
		}
	}
}

// dropStreamBeats ends beats when its stream ended: heartbeats go as
// requests until the next stream opens.
func (c *masterConn) dropStreamBeats(beats *streamBeats) {
	c.beats.CompareAndSwap(beats, nil)
	beats.Close()
}

// streamBeats reports whether an open assignment stream carries the
// node's heartbeats.
func (c *masterConn) streamBeats() bool {
	b := c.beats.Load()
	return b != nil && !b.closed()
}

func (b *streamBeats) closed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}
