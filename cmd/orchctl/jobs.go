package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

var jobKind = &kind{
	name: "job", plural: "jobs", aliases: []string{"cronjob", "cronjobs"}, watchKind: api.KindService,
	key:     serviceKind.key,
	compare: serviceKind.compare,
	header: func(v view) []string {
		h := []string{"NAME", "NAMESPACE", "STATE", "SUCCEEDED", "FAILED", "ACTIVE", "AGE"}
		if v.wide {
			h = append(h, "SCHEDULE", "CRONJOB", "MESSAGE")
		}
		return h
	},
	row: func(m proto.Message, v view) []string {
		s := m.(*orchpb.Service)
		spec, st := s.GetSpec(), s.GetStatus().GetJob()
		age := "-"
		if st.GetStartedAt() > 0 {
			age = formatAge(v.now.Sub(time.UnixMilli(st.GetStartedAt())))
		}
		r := []string{spec.GetName(), spec.GetNamespace(), jobState(s),
			fmt.Sprintf("%d/%d", st.GetSucceeded(), spec.CompletionsOrDefault()), strconv.Itoa(int(st.GetFailed())),
			strconv.Itoa(int(st.GetActive())), age}
		if spec.IsCronJob() {
			r[3], r[4], r[5] = "-", "-", "-"
		}
		if v.wide {
			r = append(r, dash(spec.GetSchedule()), dash(st.GetCronJob()), st.GetMessage())
		}
		return r
	},
}

// jobState is a job's state, or "scheduled" for a cron job.
func jobState(s *orchpb.Service) string {
	if s.GetSpec().IsCronJob() {
		return "scheduled"
	}
	return dash(s.GetStatus().GetJob().GetState())
}

func (d describer) job(name string) error {
	job, err := d.c.GetJob(d.ctx, d.namespace, name)
	if err != nil {
		return fmt.Errorf("job/%s: %w", name, err)
	}
	runs, evs, err := d.replicasAndEvents(name)
	if err != nil {
		return err
	}
	if d.structured() {
		return d.printDescribed("job", job, runs, evs)
	}
	spec, st := job.GetSpec(), job.GetStatus().GetJob()
	fields := []field{
		{"Name", spec.GetName()},
		{"Namespace", spec.GetNamespace()},
		{"Image", spec.GetImage()},
		{"State", jobState(job) + messageSuffix(st.GetMessage())},
	}
	if spec.IsCronJob() {
		last := "-"
		if t := st.GetLastScheduledTime(); t > 0 {
			last = time.Unix(t, 0).Local().Format(time.RFC3339)
		}
		fields = append(fields, field{"Schedule", spec.GetSchedule()},
			field{"Concurrency", spec.ConcurrencyPolicyOrDefault()},
			field{"History", fmt.Sprintf("last %d succeeded, last %d failed", spec.SuccessfulJobsHistoryLimitOrDefault(), spec.FailedJobsHistoryLimitOrDefault())},
			field{"Last time", last})
	} else {
		fields = append(fields,
			field{"Progress", fmt.Sprintf("%d of %d runs succeeded, %d failed (backoffLimit %d), %d active (parallelism %d)",
				st.GetSucceeded(), spec.CompletionsOrDefault(), st.GetFailed(), spec.BackoffLimitOrDefault(), st.GetActive(), spec.ParallelismOrDefault())},
			field{"Deadline", dash(durationText(spec.DeadlineOrZero()))})
		if st.GetCronJob() != "" {
			fields = append(fields, field{"Cron job", st.GetCronJob() + " at " + time.Unix(st.GetScheduledTime(), 0).Local().Format(time.RFC3339)})
		}
	}
	d.printFields(fields)
	if spec.IsCronJob() {
		return d.cronJobs(name, evs)
	}
	names := nodeNames(d.ctx, d.c)
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		rows = append(rows, []string{r.DisplayName(), r.GetId(), dash(names[r.GetNode()]), replicaState(r),
			strconv.Itoa(int(r.GetExitCode())), r.GetMessage()})
	}
	d.section("Runs", []string{"NAME", "ID", "NODE", "STATE", "EXIT", "MESSAGE"}, rows)
	d.events(evs)
	return nil
}

// cronJobs lists the jobs a cron job made.
func (d describer) cronJobs(name string, evs []api.ClusterEvent) error {
	all, _, err := d.c.ListJobs(d.ctx, d.namespace)
	if err != nil {
		return err
	}
	var rows [][]string
	for _, j := range all {
		if st := j.GetStatus().GetJob(); st.GetCronJob() == name {
			rows = append(rows, []string{j.GetSpec().GetName(), jobState(j), fmt.Sprintf("%d/%d", st.GetSucceeded(), j.GetSpec().CompletionsOrDefault()),
				strconv.Itoa(int(st.GetFailed())), st.GetMessage()})
		}
	}
	d.section("Jobs", []string{"NAME", "STATE", "SUCCEEDED", "FAILED", "MESSAGE"}, rows)
	d.events(evs)
	return nil
}

func durationText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return orchpb.FormatDuration(d)
}

func (a *app) waitCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait job NAME",
		Short: "Wait until a job ends: exit 0 when it succeeded, 1 when it failed",
		Long: `Wait until a job has succeeded (exit 0) or failed (exit 1, with the job's
message). With --timeout, give up after that long (exit 1).`,
		Example: `  orchctl wait job migrate --timeout 10m`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if k, err := lookupKind(args[0]); err != nil || k != jobKind {
				return fmt.Errorf("wait %s: only jobs can be waited for (orchctl wait job NAME)", args[0])
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return a.waitJob(ctx, c, args[1], timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: wait for as long as it takes)")
	return cmd
}

// waitPoll is how often wait reads the job: a job's end is a few
// writes among many, and a read a second costs the cluster nothing.
const waitPoll = 500 * time.Millisecond

func (a *app) waitJob(ctx context.Context, c *client.Client, name string, timeout time.Duration) error {
	for {
		job, err := c.GetJob(ctx, a.namespace, name)
		if err == nil {
			if job.GetSpec().IsCronJob() {
				return fmt.Errorf("job/%s is a cron job: wait for one of its jobs (orchctl describe job %s)", name, name)
			}
			st := job.GetStatus().GetJob()
			switch st.JobState() {
			case orchpb.JobSucceeded:
				fmt.Fprintf(a.stdout, "job/%s succeeded: %s\n", name, st.GetMessage())
				return nil
			case orchpb.JobFailed:
				return fmt.Errorf("job/%s failed: %s", name, st.GetMessage())
			}
		} else if ctx.Err() == nil && waitGivesUp(err) {
			return fmt.Errorf("job/%s: %w", name, err)
		}
		t := time.NewTimer(waitPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("job/%s: still running after %s", name, cmp.Or(orchpb.FormatDuration(timeout), "the wait"))
		case <-t.C:
		}
	}
}

// waitGivesUp: an answer that waiting longer cannot change. Anything else
// (no leader during a failover, a master that went away) is waited out.
func waitGivesUp(err error) bool {
	return errors.Is(err, api.ErrNotFound) || errors.Is(err, api.ErrForbidden) ||
		errors.Is(err, api.ErrUnauthorized) || errors.Is(err, api.ErrInvalid)
}
