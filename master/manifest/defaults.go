package manifest

import (
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// The defaults Default writes, in the text form a spec stores. Controllers
// read the stored spec and need not know them.
const (
	KindService      = "Service"
	DefaultNamespace = "default"

	DefaultReplicas       = 1
	DefaultProtocol       = "tcp"
	DefaultStopGrace      = "10s"
	DefaultBackoffInitial = "1s"
	DefaultBackoffMax     = "60s"

	DefaultHealthPath        = "/"
	DefaultHealthInterval    = "1s"
	DefaultHealthTimeout     = "1s"
	DefaultHealthRetries     = 3
	DefaultHealthStartPeriod = "0s"

	DefaultMaxSurge       = 1
	DefaultMinHealthy     = "0s"
	DefaultUpdateDeadline = "2m"
	// OnFailure values; pause is the default because a rollback is itself a
	// change an operator may not want while nobody is watching.
	OnFailureRollback = "rollback"
	OnFailurePause    = "pause"
)

// Default fills every unset field that has a default, in place, so that a
// stored spec says what the cluster will do. It is idempotent and leaves set
// fields alone, even invalid ones (Validate reports those).
func Default(spec *orchpb.ServiceSpec) {
	if spec == nil {
		return
	}
	if spec.Kind == "" {
		spec.Kind = KindService
	}
	if spec.Namespace == "" {
		spec.Namespace = DefaultNamespace
	}
	if spec.Mode == "" {
		spec.Mode = orchpb.ModeReplicated
	}
	if spec.Mode == orchpb.ModeReplicated && spec.Replicas == nil {
		spec.Replicas = proto.Int32(DefaultReplicas)
	}
	for _, p := range spec.Ports {
		if p != nil && p.Protocol == "" {
			p.Protocol = DefaultProtocol
		}
	}
	defaultHealth(spec)

	if spec.Restart == nil {
		spec.Restart = &orchpb.RestartPolicy{}
	}
	r := spec.Restart
	if r.Policy == "" {
		r.Policy = orchpb.RestartAlways
	}
	if r.BackoffInitial == "" {
		r.BackoffInitial = DefaultBackoffInitial
	}
	if r.BackoffMax == "" {
		r.BackoffMax = DefaultBackoffMax
		// An initial backoff above the default maximum is a request for slow
		// restarts, not a mistake: let the maximum follow it.
		if d, err := time.ParseDuration(r.BackoffInitial); err == nil && d > Duration(DefaultBackoffMax, 0) {
			r.BackoffMax = r.BackoffInitial
		}
	}

	if spec.Placement == nil {
		spec.Placement = &orchpb.Placement{}
	}
	if spec.Placement.Strategy == "" {
		spec.Placement.Strategy = orchpb.StrategySpread
	}

	if spec.Update == nil {
		spec.Update = &orchpb.UpdatePolicy{}
	}
	u := spec.Update
	if u.MaxUnavailable == nil {
		// maxSurge: 0 alone means "update in place": without an unavailable
		// slot that update could never start.
		if u.MaxSurge != nil && *u.MaxSurge == 0 {
			u.MaxUnavailable = proto.Int32(1)
		} else {
			u.MaxUnavailable = proto.Int32(0)
		}
	}
	if u.MaxSurge == nil {
		u.MaxSurge = proto.Int32(DefaultMaxSurge)
	}
	if u.MinHealthy == "" {
		u.MinHealthy = DefaultMinHealthy
	}
	if u.Deadline == "" {
		u.Deadline = DefaultUpdateDeadline
	}
	if u.OnFailure == "" {
		u.OnFailure = OnFailurePause
	}

	if spec.StopGracePeriod == "" {
		spec.StopGracePeriod = DefaultStopGrace
	}
}

func defaultHealth(spec *orchpb.ServiceSpec) {
	h := spec.Health
	if h == nil {
		return
	}
	if proto.Equal(h, &orchpb.HealthCheck{}) {
		// "health: {}" says nothing; storing it would only read as a check.
		spec.Health = nil
		return
	}
	if h.Http == nil && h.Tcp == nil && h.Exec == nil {
		return // Validate says a check is missing.
	}
	if h.Http != nil {
		if h.Http.Path == "" {
			h.Http.Path = DefaultHealthPath
		}
		if h.Http.Port == 0 {
			h.Http.Port = firstTCPPort(spec)
		}
	}
	if h.Tcp != nil && h.Tcp.Port == 0 {
		h.Tcp.Port = firstTCPPort(spec)
	}
	if h.Interval == "" {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout == "" {
		h.Timeout = DefaultHealthTimeout
	}
	if h.Retries == 0 {
		h.Retries = DefaultHealthRetries
	}
	if h.StartPeriod == "" {
		h.StartPeriod = DefaultHealthStartPeriod
	}
}

// firstTCPPort is the port a health check without one probes: the service's
// first TCP port, or 0 (which Validate refuses) when it has none.
func firstTCPPort(spec *orchpb.ServiceSpec) int32 {
	for _, p := range spec.Ports {
		if p != nil && (p.Protocol == "" || p.Protocol == DefaultProtocol) {
			return p.Port
		}
	}
	return 0
}
