package agent

import (
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// backoff doubles the restart delay from initial up to max, and starts over
// once a replica has run cleanly for resetAfter.
type backoff struct {
	initial, max, resetAfter time.Duration
	next                     time.Duration
}

func newBackoff(initial, max time.Duration) *backoff {
	if initial <= 0 {
		initial = orchpb.DefaultBackoffInitial
	}
	if max < initial {
		max = initial
	}
	reset := 10 * time.Second
	if max > reset {
		reset = max
	}
	return &backoff{initial: initial, max: max, resetAfter: reset}
}

// delay returns how long to wait before the next start, given how long the
// last run lasted.
func (b *backoff) delay(ran time.Duration) time.Duration {
	if ran >= b.resetAfter || b.next == 0 {
		b.next = b.initial
	} else {
		b.next *= 2
		if b.next > b.max {
			b.next = b.max
		}
	}
	return b.next
}
