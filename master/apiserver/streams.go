package apiserver

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"sync"

	"github.com/orch-io/orch/api"
)

// DefaultMaxStreams is how many watch, follow and exec streams one token
// may hold open on one master at once: far more than orchctl and the web
// page open, few enough that a leaked token or a client stuck in a retry
// loop cannot hold every goroutine and agent connection of the master.
const DefaultMaxStreams = 64

// streamLimiter counts the open streams of each token. Tokens are kept as
// their digest, as the store keeps them. The agent channel's streams do
// not pass here: they are bounded by the nodes that exist.
type streamLimiter struct {
	max   int
	mu    sync.Mutex
	open  map[[sha256.Size]byte]int
	total int // open streams of every token, for metrics
}

// inFlight answers how many streams are open.
func (l *streamLimiter) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func newStreamLimiter(limit int) *streamLimiter {
	if limit <= 0 {
		limit = DefaultMaxStreams
	}
	return &streamLimiter{max: limit, open: map[[sha256.Size]byte]int{}}
}

// acquire takes a slot for the token; the caller must call release once
// the stream ends.
func (l *streamLimiter) acquire(token string) (release func(), ok bool) {
	key := sha256.Sum256([]byte(token))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.max {
		return nil, false
	}
	l.open[key]++
	l.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.open[key]--; l.open[key] == 0 {
				delete(l.open, key)
			}
		})
	}, true
}

// openStream takes a stream slot for the request's token, or answers 429
// and reports false. The caller defers the release.
func (s *Server) openStream(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release, ok = s.streams.acquire(bearer(r))
	if !ok {
		writeError(w, &api.Error{Code: "too_many_streams", Status: http.StatusTooManyRequests,
			Message: fmt.Sprintf("this token already has %d watch, follow and exec streams open on this master, the most it may (--max-streams-per-token): close one first", s.streams.max)})
	}
	return release, ok
}
