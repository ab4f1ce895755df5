package manifest

import (
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
	"github.com/robfig/cron/v3"
	"google.golang.org/protobuf/proto"
)

// cronParser reads a schedule: five fields (minute hour day month weekday),
// an optional leading seconds field, or a descriptor (@hourly, @every 1m).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron job's schedule.
func ParseSchedule(s string) (cron.Schedule, error) {
	sched, err := cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s, err)
	}
	return sched, nil
}

// maxCronJobName leaves room for the "-<unix seconds>" of its jobs' names
// in a DNS label.
const maxCronJobName = 63 - 11

// defaultJob writes a job's defaults: its runs never restart in place.
func defaultJob(spec *orchpb.ServiceSpec) {
	if spec.Completions == nil {
		spec.Completions = proto.Int32(orchpb.DefaultCompletions)
	}
	if spec.Parallelism == nil {
		spec.Parallelism = proto.Int32(orchpb.DefaultParallelism)
	}
	if spec.BackoffLimit == nil {
		spec.BackoffLimit = proto.Int32(orchpb.DefaultBackoffLimit)
	}
	if spec.Restart == nil {
		spec.Restart = &orchpb.RestartPolicy{}
	}
	if spec.Restart.Policy == "" {
		spec.Restart.Policy = orchpb.RestartNever
	}
	if spec.Schedule == "" {
		return
	}
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = orchpb.DefaultConcurrencyPolicy
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = proto.Int32(orchpb.DefaultSuccessfulJobsKept)
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = proto.Int32(orchpb.DefaultFailedJobsKept)
	}
}

// validateJob checks the job fields: only a Job has them, and a Job has
// no replicas, no global mode and no restart in place.
func validateJob(l *errorList, s *orchpb.ServiceSpec) {
	if !s.IsJob() {
		for _, f := range append([]setField{{"completions", s.Completions != nil}, {"parallelism", s.Parallelism != nil},
			{"backoffLimit", s.BackoffLimit != nil}, {"deadline", s.Deadline != nil}, {"schedule", s.Schedule != ""}}, cronFields(s)...) {
			if f.set {
				l.add(f.name, "only a Job has %s (kind: Job)", f.name)
			}
		}
		return
	}
	if s.Replicas != nil {
		l.add("replicas", "a Job has completions and parallelism, not replicas")
	}
	if s.Mode == orchpb.ModeGlobal {
		l.add("mode", "a Job runs replicated, not global")
	}
	if p := s.GetRestart().GetPolicy(); p != "" && p != orchpb.RestartNever {
		l.add("restart.policy", "a Job's runs never restart in place (a failed run is counted and a new one started): must be never, not %q", p)
	}
	countField(l, "completions", s.Completions, 1)
	countField(l, "parallelism", s.Parallelism, 1)
	countField(l, "backoffLimit", s.BackoffLimit, 0)
	l.duration("deadline", s.Deadline, true)
	if s.Schedule == "" {
		for _, f := range cronFields(s) {
			if f.set {
				l.add(f.name, "only a cron job (a Job with a schedule) has %s", f.name)
			}
		}
		return
	}
	if _, err := ParseSchedule(s.Schedule); err != nil {
		l.add("schedule", "%v", err)
	}
	if len(s.Name) > maxCronJobName {
		l.add("name", "a cron job's name has at most %d characters (its jobs are named NAME-<unix time>)", maxCronJobName)
	}
	switch s.ConcurrencyPolicy {
	case "", orchpb.ConcurrencyForbid, orchpb.ConcurrencyAllow, orchpb.ConcurrencyReplace:
	default:
		l.add("concurrencyPolicy", "must be %s, %s or %s, not %q", orchpb.ConcurrencyForbid, orchpb.ConcurrencyAllow, orchpb.ConcurrencyReplace, s.ConcurrencyPolicy)
	}
	countField(l, "successfulJobsHistoryLimit", s.SuccessfulJobsHistoryLimit, 0)
	countField(l, "failedJobsHistoryLimit", s.FailedJobsHistoryLimit, 0)
	l.duration("startingDeadline", s.StartingDeadline, true)
}

// setField is a field's name and whether the spec sets it.
type setField struct {
	name string
	set  bool
}

// cronFields are the fields only a cron job has, in manifest order.
func cronFields(s *orchpb.ServiceSpec) []setField {
	return []setField{{"concurrencyPolicy", s.ConcurrencyPolicy != ""},
		{"successfulJobsHistoryLimit", s.SuccessfulJobsHistoryLimit != nil},
		{"failedJobsHistoryLimit", s.FailedJobsHistoryLimit != nil}, {"startingDeadline", s.StartingDeadline != nil}}
}

// countField checks an optional count between least and MaxReplicas.
func countField(l *errorList, field string, v *int32, least int32) {
	if v == nil {
		return
	}
	if *v < least || *v > MaxReplicas {
		l.add(field, "must be between %d and %d", least, MaxReplicas)
	}
}
