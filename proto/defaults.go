package orchpb

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
)

// The defaults of a service spec: the one table. Admission (package
// manifest's Default) writes them into every spec it stores, so a stored
// spec says what the cluster will do; the agent, the controllers and hollow
// nodes read them only through the OrDefault accessors below, for specs
// built without admission (tests, older callers).
const (
	DefaultNamespace = "default"
	DefaultReplicas  = 1
	DefaultProtocol  = "tcp"
	DefaultRestart   = RestartAlways
	DefaultStrategy  = StrategySpread

	// DefaultPids bounds a fork bomb to one replica: far above what a
	// service runs, far below what would starve the node of pids.
	DefaultPids = 1024

	DefaultStopGracePeriod = 10 * time.Second
	DefaultBackoffInitial  = time.Second
	DefaultBackoffMax      = time.Minute

	DefaultHealthPath        = "/"
	DefaultHealthInterval    = time.Second
	DefaultHealthTimeout     = time.Second
	DefaultHealthRetries     = 3
	DefaultHealthStartPeriod = time.Duration(0)

	DefaultMaxSurge       = 1
	DefaultMinHealthy     = time.Duration(0)
	DefaultUpdateDeadline = 2 * time.Minute
	// Pause, because a rollback is itself a change an operator may not want
	// while nobody is watching.
	DefaultOnFailure = OnFailurePause
)

// durationOr is d, or def when d is unset.
func durationOr(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}

// StopGracePeriodOrDefault is how long a stop waits before it kills.
func (s *ServiceSpec) StopGracePeriodOrDefault() time.Duration {
	return durationOr(s.GetStopGracePeriod(), DefaultStopGracePeriod)
}

// PidsOrDefault is how many processes and threads one replica may have.
func (r *Resources) PidsOrDefault() int32 {
	if p := r.GetPids(); p > 0 {
		return p
	}
	return DefaultPids
}

// IntervalOrDefault is the time between the starts of two probes.
func (h *HealthCheck) IntervalOrDefault() time.Duration {
	return durationOr(h.GetInterval(), DefaultHealthInterval)
}

// TimeoutOrDefault bounds one probe.
func (h *HealthCheck) TimeoutOrDefault() time.Duration {
	return durationOr(h.GetTimeout(), DefaultHealthTimeout)
}

// StartPeriodOrDefault is the time after a start during which failures are
// not counted until a first success.
func (h *HealthCheck) StartPeriodOrDefault() time.Duration {
	return durationOr(h.GetStartPeriod(), DefaultHealthStartPeriod)
}

// RetriesOrDefault is how many counted failures in a row make a replica
// unhealthy.
func (h *HealthCheck) RetriesOrDefault() int32 {
	if r := h.GetRetries(); r > 0 {
		return r
	}
	return DefaultHealthRetries
}

// PolicyOrDefault is when a replica's container is restarted.
func (r *RestartPolicy) PolicyOrDefault() string {
	if p := r.GetPolicy(); p != "" {
		return p
	}
	return DefaultRestart
}

// BackoffInitialOrDefault is the first delay of a restart loop.
func (r *RestartPolicy) BackoffInitialOrDefault() time.Duration {
	return durationOr(r.GetBackoffInitial(), DefaultBackoffInitial)
}

// BackoffMaxOrDefault caps a restart loop's delay. Unset, it is the default
// maximum, or the initial delay when that is longer: an initial backoff
// above the default maximum asks for slow restarts, it is not a mistake.
func (r *RestartPolicy) BackoffMaxOrDefault() time.Duration {
	if m := r.GetBackoffMax(); m != nil {
		return m.AsDuration()
	}
	return max(DefaultBackoffMax, r.BackoffInitialOrDefault())
}

// MaxSurgeOrDefault is how many replicas a rollout may add above the
// desired count.
func (u *UpdatePolicy) MaxSurgeOrDefault() int32 {
	if u == nil || u.MaxSurge == nil {
		return DefaultMaxSurge
	}
	return *u.MaxSurge
}

// MaxUnavailableOrDefault is how many replicas a rollout may take below the
// desired count. Unset, it is 0, or 1 when maxSurge is 0 ("update in
// place"), without which such an update could never start.
func (u *UpdatePolicy) MaxUnavailableOrDefault() int32 {
	if u != nil && u.MaxUnavailable != nil {
		return *u.MaxUnavailable
	}
	if u.MaxSurgeOrDefault() == 0 {
		return 1
	}
	return 0
}

// MinHealthyOrDefault is how long a new replica must stay healthy before a
// rollout counts it and moves on.
func (u *UpdatePolicy) MinHealthyOrDefault() time.Duration {
	return durationOr(u.GetMinHealthy(), DefaultMinHealthy)
}

// DeadlineOrDefault bounds how long a rollout waits for one replica.
func (u *UpdatePolicy) DeadlineOrDefault() time.Duration {
	return durationOr(u.GetDeadline(), DefaultUpdateDeadline)
}

// OnFailureOrDefault is what a failed rollout does.
func (u *UpdatePolicy) OnFailureOrDefault() string {
	if f := u.GetOnFailure(); f != "" {
		return f
	}
	return DefaultOnFailure
}
