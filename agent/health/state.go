package health

import "time"

// State is what the checks have concluded so far.
type State int

// States, in the order a replica that starts well passes through them.
const (
	// Starting: no success yet, and not enough counted failures.
	Starting State = iota
	Healthy
	Unhealthy
)

func (s State) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	}
	return "starting"
}

// Result is the state after a probe, with the failure that led to it.
type Result struct {
	State State
	// Message is the last failure ("GET /healthz: 500"); empty when healthy.
	Message string
	// Failures is the count of consecutive failures that count.
	Failures int
}

// tracker counts results; it is the whole policy, free of time and I/O.
type tracker struct {
	retries     int
	startPeriod time.Duration
	started     time.Time

	res         Result
	everHealthy bool
}

func newTracker(retries int, startPeriod time.Duration, started time.Time, initial State) *tracker {
	if retries < 1 {
		retries = 1
	}
	return &tracker{
		retries:     retries,
		startPeriod: startPeriod,
		started:     started,
		res:         Result{State: initial},
		everHealthy: initial == Healthy,
	}
}

// observe records one probe's outcome at now and reports whether the state
// changed.
func (t *tracker) observe(now time.Time, err error) (Result, bool) {
	before := t.res.State
	if err == nil {
		t.everHealthy = true
		t.res = Result{State: Healthy}
		return t.res, before != Healthy
	}
	t.res.Message = err.Error()
	if !t.everHealthy && now.Sub(t.started) < t.startPeriod {
		// Still starting: a failure now says nothing yet.
		return t.res, false
	}
	t.res.Failures++
	if t.res.Failures >= t.retries {
		t.res.State = Unhealthy
	}
	return t.res, t.res.State != before
}
