package manifest

import (
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Default fills every unset field that has a default, in place, from the
// one table of defaults (orchpb's Default constants and OrDefault
// accessors), so that a stored spec says what the cluster will do. It is
// idempotent and leaves set fields alone, even invalid ones (Validate
// reports those).
func Default(spec *orchpb.ServiceSpec) {
	if spec == nil {
		return
	}
	if spec.Kind == "" {
		spec.Kind = orchpb.KindService
	}
	if spec.Namespace == "" {
		spec.Namespace = orchpb.DefaultNamespace
	}
	if spec.Mode == "" {
		spec.Mode = orchpb.ModeReplicated
	}
	if spec.IsJob() {
		defaultJob(spec)
	} else if spec.Mode == orchpb.ModeReplicated && spec.Replicas == nil {
		spec.Replicas = proto.Int32(orchpb.DefaultReplicas)
	}
	for _, p := range spec.Ports {
		if p != nil && p.Protocol == "" {
			p.Protocol = orchpb.DefaultProtocol
		}
	}
	if spec.Resources == nil {
		spec.Resources = &orchpb.Resources{}
	}
	if spec.Resources.Pids == 0 {
		spec.Resources.Pids = spec.Resources.PidsOrDefault()
	}
	defaultContainers(spec)
	for _, v := range spec.Volumes {
		if v != nil && v.Type == "" {
			v.Type = orchpb.VolumePersistent
		}
	}
	var ds durationDefaults
	defaultHealth(spec, &ds)

	if spec.Restart == nil {
		spec.Restart = &orchpb.RestartPolicy{}
	}
	r := spec.Restart
	r.Policy = r.PolicyOrDefault()
	ds.set(&r.BackoffInitial, r.BackoffInitialOrDefault())
	ds.set(&r.BackoffMax, r.BackoffMaxOrDefault())

	if spec.Placement == nil {
		spec.Placement = &orchpb.Placement{}
	}
	if spec.Placement.Strategy == "" {
		spec.Placement.Strategy = orchpb.DefaultStrategy
	}

	if spec.Update == nil {
		spec.Update = &orchpb.UpdatePolicy{}
	}
	u := spec.Update
	if u.MaxUnavailable == nil {
		u.MaxUnavailable = proto.Int32(u.MaxUnavailableOrDefault())
	}
	if u.MaxSurge == nil {
		u.MaxSurge = proto.Int32(u.MaxSurgeOrDefault())
	}
	ds.set(&u.MinHealthy, u.MinHealthyOrDefault())
	ds.set(&u.Deadline, u.DeadlineOrDefault())
	u.OnFailure = u.OnFailureOrDefault()

	ds.set(&spec.StopGracePeriod, spec.StopGracePeriodOrDefault())
}

// durationDefaults hands out the durations Default writes from one
// allocation: most specs leave all of them out, and an allocation each was
// a measurable part of admitting one.
type durationDefaults struct {
	block []durationpb.Duration
}

// maxDurationDefaults is how many duration fields a spec has.
const maxDurationDefaults = 8

// set sets an unset duration field to def.
func (ds *durationDefaults) set(field **durationpb.Duration, def time.Duration) {
	if *field != nil {
		return
	}
	if len(ds.block) == 0 {
		ds.block = make([]durationpb.Duration, maxDurationDefaults)
	}
	d := &ds.block[0]
	ds.block = ds.block[1:]
	d.Seconds, d.Nanos = int64(def/time.Second), int32(def%time.Second)
	*field = d
}

func defaultHealth(spec *orchpb.ServiceSpec, ds *durationDefaults) {
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
			h.Http.Path = orchpb.DefaultHealthPath
		}
		if h.Http.Port == 0 {
			h.Http.Port = firstTCPPort(spec)
		}
	}
	if h.Tcp != nil && h.Tcp.Port == 0 {
		h.Tcp.Port = firstTCPPort(spec)
	}
	ds.set(&h.Interval, h.IntervalOrDefault())
	ds.set(&h.Timeout, h.TimeoutOrDefault())
	if h.Retries == 0 {
		h.Retries = h.RetriesOrDefault()
	}
	ds.set(&h.StartPeriod, h.StartPeriodOrDefault())
}

// firstTCPPort is the port a health check without one probes: the service's
// first TCP port, or 0 (which Validate refuses) when it has none.
func firstTCPPort(spec *orchpb.ServiceSpec) int32 {
	for _, p := range spec.Ports {
		if p != nil && (p.Protocol == "" || p.Protocol == orchpb.DefaultProtocol) {
			return p.Port
		}
	}
	return 0
}
