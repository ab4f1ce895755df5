package health

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

// Spec is a check ready to run.
type Spec struct {
	Probe Prober
	// Interval between the starts of two probes; Timeout bounds each.
	Interval, Timeout time.Duration
	// Retries consecutive counted failures make the replica unhealthy.
	Retries int
	// StartPeriod after the container started, failures are not counted
	// until a first success.
	StartPeriod time.Duration
}

// FromProto builds the check a service spec asks for, probing the replica
// at ip (its overlay address) or through exec. It returns false when the
// spec has no check.
func FromProto(h *orchpb.HealthCheck, ip string, exec ExecFunc) (Spec, bool, error) {
	if h == nil {
		return Spec{}, false, nil
	}
	s := Spec{
		Interval:    h.IntervalOrDefault(),
		Timeout:     h.TimeoutOrDefault(),
		Retries:     int(h.RetriesOrDefault()),
		StartPeriod: h.StartPeriodOrDefault(),
	}
	if s.Interval <= 0 {
		s.Interval = orchpb.DefaultHealthInterval
	}
	if s.Timeout <= 0 || s.Timeout > s.Interval {
		// A probe never overlaps the next one.
		s.Timeout = min(max(s.Timeout, orchpb.DefaultHealthTimeout), s.Interval)
	}
	addr := func(port int32) string { return net.JoinHostPort(ip, strconv.Itoa(int(port))) }
	switch {
	case h.GetHttp() != nil:
		if ip == "" {
			return Spec{}, false, errors.New("health: an http check needs the replica's IP")
		}
		s.Probe = HTTP{Addr: addr(h.GetHttp().GetPort()), Path: h.GetHttp().GetPath()}
	case h.GetTcp() != nil:
		if ip == "" {
			return Spec{}, false, errors.New("health: a tcp check needs the replica's IP")
		}
		s.Probe = TCP{Addr: addr(h.GetTcp().GetPort())}
	case h.GetExec() != nil:
		if exec == nil {
			return Spec{}, false, errors.New("health: the runtime cannot exec, so an exec check cannot run")
		}
		s.Probe = Exec{Command: h.GetExec().GetCommand(), Run: exec}
	default:
		return Spec{}, false, nil
	}
	return s, true, nil
}

// Run probes until ctx ends and calls report (from Run's goroutine) on
// every change of state. started is when the container started; initial
// is the state to start from: Healthy for a replica adopted from an
// earlier agent process that was healthy then, else Starting.
func Run(ctx context.Context, s Spec, started time.Time, initial State, report func(Result)) {
	t := newTracker(s.Retries, s.StartPeriod, started, initial)
	// The first probe comes one interval in: a process needs a moment to
	// listen.
	next := time.NewTimer(s.Interval)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-next.C:
		}
		began := time.Now()
		pctx, cancel := context.WithTimeout(ctx, s.Timeout)
		err := s.Probe.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if res, changed := t.observe(time.Now(), err); changed {
			report(res)
		}
		next.Reset(max(s.Interval-time.Since(began), 0))
	}
}
