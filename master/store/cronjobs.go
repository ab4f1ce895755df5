package store

import (
	"cmp"
	"slices"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// startCronJob records a cron job's scheduled time and creates its job in
// the same entry. The recorded time only moves forward, so a time is acted
// on once whoever leads: a new leader reads it and never makes a second
// job for it.
func (s *Store) startCronJob(index uint64, c *orchpb.StartCronJob) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	cron := s.services[key]
	if cron == nil || !cron.GetSpec().IsCronJob() {
		return fail(index, orchpb.ResultNotFound, "cron job %s not found", key)
	}
	if last := cron.GetJob().GetLastScheduledTime(); c.GetScheduledTime() <= last {
		return fail(index, orchpb.ResultConflict, "cron job %s: time %d is not after the last recorded time %d", key, c.GetScheduledTime(), last)
	}
	job := c.GetJob()
	if c.GetSkipReason() == "" {
		if job.GetNamespace() != key.namespace || job.GetName() == "" || !job.IsJob() || job.IsCronJob() {
			return fail(index, orchpb.ResultInvalid, "cron job %s: the job to start needs kind Job, no schedule, the cron job's namespace and a name", key)
		}
		if s.services[svcKey{job.GetNamespace(), job.GetName()}] != nil {
			return fail(index, orchpb.ResultConflict, "cron job %s: %s exists", key, job.GetName())
		}
		if msg := s.pinRefs(job); msg != "" {
			return fail(index, orchpb.ResultInvalid, "%s", msg)
		}
	}
	st := copyJobStatus(cron.GetJob())
	st.LastScheduledTime = c.GetScheduledTime()
	if c.GetSkipReason() != "" {
		st.Message = c.GetSkipReason()
	} else {
		st.Message = ""
	}
	s.storeJobStatus(index, cron, st)
	for _, name := range c.GetReplace() {
		old := s.services[svcKey{key.namespace, name}]
		if old != nil && old.GetJob().GetCronJob() == key.name {
			s.removeService(index, svcKey{key.namespace, name}, old)
		}
	}
	if c.GetSkipReason() == "" {
		s.createJob(index, job, &orchpb.JobStatus{State: string(orchpb.JobRunning), StartedAt: c.GetStartedAt(),
			CronJob: key.name, ScheduledTime: c.GetScheduledTime()})
	}
	return &orchpb.CommandResult{}
}

// cronChildren are the jobs cron job key made, oldest time first.
func (s *Store) cronChildren(key svcKey) []*orchpb.Service {
	var out []*orchpb.Service
	for k, svc := range s.services {
		if k.namespace == key.namespace && svc.GetJob().GetCronJob() == key.name && !svc.GetSpec().IsCronJob() {
			out = append(out, svc)
		}
	}
	slices.SortFunc(out, func(a, b *orchpb.Service) int {
		return cmp.Or(cmp.Compare(a.GetJob().GetScheduledTime(), b.GetJob().GetScheduledTime()),
			strings.Compare(a.GetSpec().GetName(), b.GetSpec().GetName()))
	})
	return out
}

// CronChildren lists the jobs the cron job namespace/name made, oldest
// scheduled time first.
func (s *Store) CronChildren(namespace, name string) []*orchpb.Service {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cronChildren(svcKey{namespace, name})
}
