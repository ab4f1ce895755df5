package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/orch-io/orch/api"
)

// history records operations with start and end times for porcupine.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	// unknown counts writes whose outcome the client could not learn.
	unknown int
}

func newHistory() *history { return &history{start: time.Now()} }

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if op.Output.(regOutput).unknown {
		h.unknown++
	}
	h.ops = append(h.ops, op)
}

func (h *history) operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// outcome classifies an answer to a write.
type outcome int

const (
	applied    outcome = iota // 2xx
	refused                   // 409: a conditional write whose condition failed
	notApplied                // never reached a leader, or refused before proposing
	unknownOut                // the client cannot tell
)

func classifyWrite(code int, body []byte, err error) (outcome, error) {
	if err != nil {
		if isDialError(err) {
			return notApplied, nil
		}
		return unknownOut, nil
	}
	switch {
	case code == http.StatusOK || code == http.StatusCreated:
		return applied, nil
	case code == http.StatusConflict:
		return refused, nil
	case code == http.StatusServiceUnavailable:
		if e := api.DecodeError(code, body); e.Code == api.CodeNoLeader {
			return notApplied, nil
		}
		return unknownOut, nil
	}
	return 0, fmt.Errorf("unexpected answer to a write: %d %s", code, body)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// registerClient runs reads, blind writes and read-then-conditional-writes
// on random keys against random masters until ctx ends, recording every
// operation whose effect is known or possible.
func (c *cluster) registerClient(ctx context.Context, id int, urls, keys []string, h *history, fail func(error)) {
	rng := rand.New(rand.NewSource(int64(id) + time.Now().UnixNano()))
	seq := 0
	for ctx.Err() == nil {
		key := keys[rng.Intn(len(keys))]
		base := urls[rng.Intn(len(urls))]
		switch rng.Intn(3) {
		case 0:
			c.regRead(base, id, key, h)
		case 1:
			seq++
			if err := c.regWrite(base, id, key, fmt.Sprintf("c%d-%d", id, seq), nil, "", h); err != nil {
				fail(err)
				return
			}
		case 2:
			value, version, ok := c.regRead(base, id, key, h)
			if !ok {
				continue
			}
			seq++
			base = urls[rng.Intn(len(urls))]
			if err := c.regWrite(base, id, key, fmt.Sprintf("c%d-%d", id, seq), &version, value, h); err != nil {
				fail(err)
				return
			}
		}
	}
}

// regRead is a linearizable GET; failed reads have no effect and are not
// recorded.
func (c *cluster) regRead(base string, client int, key string, h *history) (string, uint64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call := h.now()
	code, body, _, err := c.do(ctx, http.MethodGet, base, "/v1/namespaces/default/services/"+key, nil, nil)
	ret := h.now()
	var value string
	var version uint64
	switch {
	case err != nil:
		return "", 0, false
	case code == http.StatusNotFound:
	case code == http.StatusOK:
		if value, version, err = readService(body); err != nil {
			return "", 0, false
		}
	default:
		return "", 0, false
	}
	h.add(porcupine.Operation{ClientId: client, Input: regInput{key: key, kind: opRead}, Call: call, Output: regOutput{value: value}, Return: ret})
	return value, version, true
}

// regWrite PUTs value, conditionally on ifMatch when it is set (expect is
// the value read at that version).
func (c *cluster) regWrite(base string, client int, key, value string, ifMatch *uint64, expect string, h *history) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hdr map[string]string
	in := regInput{key: key, kind: opWrite, value: value}
	if ifMatch != nil {
		hdr = map[string]string{"If-Match": strconv.FormatUint(*ifMatch, 10)}
		in.cond, in.expect = true, expect
	}
	call := h.now()
	code, body, _, err := c.do(ctx, http.MethodPut, base, "/v1/namespaces/default/services/"+key, serviceJSON(key, value), hdr)
	ret := h.now()
	out, cerr := classifyWrite(code, body, err)
	if cerr != nil {
		return fmt.Errorf("put %s=%s at %s: %w", key, value, base, cerr)
	}
	op := porcupine.Operation{ClientId: client, Input: in, Call: call, Return: ret}
	switch out {
	case applied:
		op.Output = regOutput{ok: true}
	case refused:
		if ifMatch == nil {
			return fmt.Errorf("put %s=%s at %s: 409 for an unconditional write: %s", key, value, base, body)
		}
		op.Output = regOutput{refused: true}
	case notApplied:
		return nil
	case unknownOut:
		op.Output, op.Return = regOutput{unknown: true}, neverReturned
	}
	h.add(op)
	return nil
}

// ackLog remembers every acknowledged write of the ackWriter.
type ackLog struct {
	mu    sync.Mutex
	acked map[string]string // service -> value
	at    []time.Time       // acknowledgement times, in order
}

func (a *ackLog) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// ackWriter creates services one after another, each with its own
// content, through random masters, and logs the acknowledged ones.
func (c *cluster) ackWriter(ctx context.Context, prefix string, urls []string, log *ackLog, fail func(error)) {
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("%s-%05d", prefix, i)
		value := fmt.Sprintf("content-%d-%d", i, rng.Int63())
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		code, body, _, err := c.do(rctx, http.MethodPut, urls[rng.Intn(len(urls))], "/v1/namespaces/default/services/"+name, serviceJSON(name, value), nil)
		cancel()
		out, cerr := classifyWrite(code, body, err)
		if cerr != nil {
			fail(cerr)
			return
		}
		if out == applied {
			log.mu.Lock()
			log.acked[name] = value
			log.at = append(log.at, time.Now())
			log.mu.Unlock()
		} else if out != refused {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// checkAcked fails unless every acknowledged write is present with its
// content, read linearizably from base.
func (c *cluster) checkAcked(base string, log *ackLog) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, body, _, err := c.do(ctx, http.MethodGet, base, "/v1/namespaces/default/services", nil, nil)
	if err != nil || code != http.StatusOK {
		c.t.Fatalf("list services: %d %s %v", code, body, err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		c.t.Fatal(err)
	}
	have := map[string]string{}
	for _, raw := range list {
		var s struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &s)
		value, _, err := readService(raw)
		if err != nil {
			c.t.Fatal(err)
		}
		have[s.Name] = value
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	lost := 0
	for name, value := range log.acked {
		if got, ok := have[name]; !ok || got != value {
			lost++
			if lost < 10 {
				c.t.Errorf("acknowledged write %s=%q: found %q (present %v)", name, value, got, ok)
			}
		}
	}
	if lost > 0 {
		c.t.Fatalf("%d of %d acknowledged writes lost or changed", lost, len(log.acked))
	}
}
