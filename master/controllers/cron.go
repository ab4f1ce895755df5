package controllers

import (
	"fmt"
	"strconv"
	"time"

	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// maxMissedTimes bounds the walk over times missed while no leader ran:
// only the latest of them may still run, and an every-second schedule
// over a long outage must not make the walk long.
const maxMissedTimes = 100_000

// CronJobName is the name of the job cron job name makes for time t.
func CronJobName(name string, t time.Time) string {
	return name + "-" + strconv.FormatInt(t.Unix(), 10)
}

// cronDecision is what one cron job needs now: nil when no scheduled
// time is due. The time is recorded in the same command that makes its
// job (or says why it was skipped), so a new leader never acts on it again.
func cronDecision(cj *orchpb.Service, children []*orchpb.Service, now time.Time) (*orchpb.StartCronJob, error) {
	spec := cj.GetSpec()
	sched, err := manifest.ParseSchedule(spec.GetSchedule())
	if err != nil {
		return nil, err
	}
	// UTC: every master reads a schedule the same way, whatever its zone.
	from := time.Unix(cj.GetJob().GetLastScheduledTime(), 0).UTC()
	if cj.GetJob().GetLastScheduledTime() == 0 {
		// Times start after the cron job was created.
		from = time.UnixMilli(cj.GetJob().GetStartedAt()).UTC().Truncate(time.Second)
	}
	var due time.Time
	for t, i := sched.Next(from), 0; !t.After(now) && !t.IsZero() && i < maxMissedTimes; t, i = sched.Next(t), i+1 {
		due = t
	}
	if due.IsZero() {
		return nil, nil
	}
	start := &orchpb.StartCronJob{Namespace: spec.GetNamespace(), Name: spec.GetName(), ScheduledTime: due.Unix()}
	if late, limit := now.Sub(due), spec.StartingDeadlineOrDefault(); limit > 0 && late > limit {
		start.SkipReason = fmt.Sprintf("the run for %s was missed by %s, more than startingDeadline %s",
			due.UTC().Format(time.RFC3339), late.Round(time.Second), limit)
		return start, nil
	}
	var running []string
	for _, child := range children {
		if !child.GetJob().Ended() {
			running = append(running, child.GetSpec().GetName())
		}
	}
	switch spec.ConcurrencyPolicyOrDefault() {
	case orchpb.ConcurrencyForbid:
		if len(running) > 0 {
			start.SkipReason = fmt.Sprintf("the run for %s was skipped: job %s still runs (concurrencyPolicy forbid)",
				due.UTC().Format(time.RFC3339), running[0])
			return start, nil
		}
	case orchpb.ConcurrencyReplace:
		start.Replace = running
	}
	start.Job = childSpec(spec, due)
	start.StartedAt = now.UnixMilli()
	return start, nil
}

// childSpec is the job a cron job makes for time t: its spec without the
// cron job's own fields.
func childSpec(cronSpec *orchpb.ServiceSpec, t time.Time) *orchpb.ServiceSpec {
	job := proto.Clone(cronSpec).(*orchpb.ServiceSpec)
	job.Name = CronJobName(cronSpec.GetName(), t)
	job.Schedule, job.ConcurrencyPolicy, job.StartingDeadline = "", "", nil
	job.SuccessfulJobsHistoryLimit, job.FailedJobsHistoryLimit = nil, nil
	return job
}

// cronHistory names the ended jobs of a cron job beyond its history
// limits: the oldest succeeded beyond successfulJobsHistoryLimit, the
// oldest failed beyond failedJobsHistoryLimit. children come oldest first.
func cronHistory(cj *orchpb.Service, children []*orchpb.Service) []string {
	var succeeded, failed []string
	for _, child := range children {
		switch child.GetJob().JobState() {
		case orchpb.JobSucceeded:
			succeeded = append(succeeded, child.GetSpec().GetName())
		case orchpb.JobFailed:
			failed = append(failed, child.GetSpec().GetName())
		}
	}
	var out []string
	if keep := int(cj.GetSpec().SuccessfulJobsHistoryLimitOrDefault()); len(succeeded) > keep {
		out = append(out, succeeded[:len(succeeded)-keep]...)
	}
	if keep := int(cj.GetSpec().FailedJobsHistoryLimitOrDefault()); len(failed) > keep {
		out = append(out, failed[:len(failed)-keep]...)
	}
	return out
}
