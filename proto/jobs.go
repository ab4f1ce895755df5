package orchpb

import "time"

// JobState is the state of a job (JobStatus.state).
type JobState string

// Job states.
const (
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
)

// KindJob is the kind of a job's manifest; with a schedule it is a cron job.
const KindJob = "Job"

// Cron jobs' concurrency policies: what a scheduled time does while an
// earlier job still runs.
const (
	ConcurrencyForbid  = "forbid"
	ConcurrencyAllow   = "allow"
	ConcurrencyReplace = "replace"
)

// The defaults of a job (docs/manifest.md).
const (
	DefaultCompletions        = 1
	DefaultParallelism        = 1
	DefaultBackoffLimit       = 3
	DefaultConcurrencyPolicy  = ConcurrencyForbid
	DefaultSuccessfulJobsKept = 3
	DefaultFailedJobsKept     = 1
	DefaultStartingDeadline   = time.Duration(0) // none: a missed time runs however late
	DefaultJobRunsKept        = 10
)

// IsJob reports whether the spec is a job's or a cron job's.
func (s *ServiceSpec) IsJob() bool { return s.GetKind() == KindJob }

// IsCronJob reports whether the spec is a cron job's.
func (s *ServiceSpec) IsCronJob() bool { return s.IsJob() && s.GetSchedule() != "" }

// CompletionsOrDefault is how many runs must succeed.
func (s *ServiceSpec) CompletionsOrDefault() int32 {
	if s.Completions == nil {
		return DefaultCompletions
	}
	return s.GetCompletions()
}

// ParallelismOrDefault is how many runs may run at once.
func (s *ServiceSpec) ParallelismOrDefault() int32 {
	if s.Parallelism == nil {
		return DefaultParallelism
	}
	return s.GetParallelism()
}

// BackoffLimitOrDefault is how many runs may fail before the job fails.
func (s *ServiceSpec) BackoffLimitOrDefault() int32 {
	if s.BackoffLimit == nil {
		return DefaultBackoffLimit
	}
	return s.GetBackoffLimit()
}

// ConcurrencyPolicyOrDefault is the cron job's concurrency policy.
func (s *ServiceSpec) ConcurrencyPolicyOrDefault() string {
	if p := s.GetConcurrencyPolicy(); p != "" {
		return p
	}
	return DefaultConcurrencyPolicy
}

// SuccessfulJobsHistoryLimitOrDefault is how many succeeded jobs a cron job keeps.
func (s *ServiceSpec) SuccessfulJobsHistoryLimitOrDefault() int32 {
	if s.SuccessfulJobsHistoryLimit == nil {
		return DefaultSuccessfulJobsKept
	}
	return s.GetSuccessfulJobsHistoryLimit()
}

// FailedJobsHistoryLimitOrDefault is how many failed jobs a cron job keeps.
func (s *ServiceSpec) FailedJobsHistoryLimitOrDefault() int32 {
	if s.FailedJobsHistoryLimit == nil {
		return DefaultFailedJobsKept
	}
	return s.GetFailedJobsHistoryLimit()
}

// StartingDeadlineOrDefault is how late a missed time may still run (0: any).
func (s *ServiceSpec) StartingDeadlineOrDefault() time.Duration {
	return durationOr(s.GetStartingDeadline(), DefaultStartingDeadline)
}

// DeadlineOrZero is the job's deadline, 0 when it has none.
func (s *ServiceSpec) DeadlineOrZero() time.Duration { return durationOr(s.GetDeadline(), 0) }

// JobState is the job's state.
func (j *JobStatus) JobState() JobState { return JobState(j.GetState()) }

// Ended reports whether the job succeeded or failed.
func (j *JobStatus) Ended() bool {
	return j.JobState() == JobSucceeded || j.JobState() == JobFailed
}

// RunEnded reports whether a job run is over, and whether it succeeded:
// a run stopped with exit 0 succeeded; failed or lost is a failed run.
func (r *Replica) RunEnded() (ended, succeeded bool) {
	switch r.Observed() {
	case ReplicaStopped:
		return true, r.GetExitCode() == 0
	case ReplicaFailed, ReplicaLost:
		return true, false
	}
	return false, false
}
