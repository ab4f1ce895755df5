package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// Clock is the time the job controller reads; tests drive it.
type Clock interface {
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// JobController does what a job's clock decides: it fails a job past its
// deadline (FinishJob), makes a cron job's job for each scheduled time
// (StartCronJob, which records the time in the same entry) and deletes a
// cron job's ended jobs beyond its history limits. Runs are the service
// controller's (reconcileJob); their ends are the FSM's to count.
type JobController struct {
	store    *store.Store
	proposer endpoint.Proposer
	log      *slog.Logger
	clock    Clock
	interval time.Duration
}

// JobDeps are the job controller's dependencies.
type JobDeps struct {
	Store    *store.Store
	Proposer endpoint.Proposer
	Logger   *slog.Logger
	// Clock is the time deadlines and schedules are read against (nil:
	// the wall clock).
	Clock Clock
	// Interval is how often it looks (default 1s: a schedule's finest
	// field is the second).
	Interval time.Duration
}

// NewJobController builds the controller.
func NewJobController(d JobDeps) *JobController {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = wallClock{}
	}
	if d.Interval <= 0 {
		d.Interval = time.Second
	}
	return &JobController{store: d.Store, proposer: d.Proposer, log: d.Logger.With("controller", "job"), clock: d.Clock, interval: d.Interval}
}

// Run looks at every job and cron job each interval until ctx ends.
func (c *JobController) Run(ctx context.Context) error {
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		if err := c.Pass(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("job pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Pass looks at every job once, at the clock's time.
func (c *JobController) Pass(ctx context.Context) error {
	now := c.clock.Now()
	var errs []error
	for _, svc := range c.store.Services("") {
		spec := svc.GetSpec()
		switch {
		case spec.IsCronJob():
			errs = append(errs, c.cron(ctx, svc, now))
		case spec.IsJob():
			errs = append(errs, c.deadline(ctx, svc, now))
		}
	}
	return errors.Join(errs...)
}

func (c *JobController) deadline(ctx context.Context, job *orchpb.Service, now time.Time) error {
	d := job.GetSpec().DeadlineOrZero()
	st := job.GetJob()
	if d <= 0 || st.JobState() != orchpb.JobRunning || now.Sub(time.UnixMilli(st.GetStartedAt())) <= d {
		return nil
	}
	spec := job.GetSpec()
	msg := fmt.Sprintf("deadline %s passed with %d of %d runs succeeded", d, st.GetSucceeded(), spec.CompletionsOrDefault())
	c.log.Info("job failed", "job", spec.GetNamespace()+"/"+spec.GetName(), "reason", msg)
	return c.apply(ctx, &orchpb.Command{Op: &orchpb.Command_FinishJob{FinishJob: &orchpb.FinishJob{
		Namespace: spec.GetNamespace(), Name: spec.GetName(), State: string(orchpb.JobFailed), Message: msg}}})
}

func (c *JobController) cron(ctx context.Context, cj *orchpb.Service, now time.Time) error {
	spec := cj.GetSpec()
	children := c.store.CronChildren(spec.GetNamespace(), spec.GetName())
	var errs []error
	for _, name := range cronHistory(cj, children) {
		errs = append(errs, c.apply(ctx, &orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{
			Namespace: spec.GetNamespace(), Name: name}}}))
	}
	start, err := cronDecision(cj, children, now)
	if err != nil || start == nil {
		return errors.Join(append(errs, err)...)
	}
	if start.GetSkipReason() != "" {
		c.log.Info("cron job time skipped", "cronjob", spec.GetNamespace()+"/"+spec.GetName(), "reason", start.GetSkipReason())
	} else {
		c.log.Info("cron job starts a job", "cronjob", spec.GetNamespace()+"/"+spec.GetName(), "job", start.GetJob().GetName())
	}
	errs = append(errs, c.apply(ctx, &orchpb.Command{Op: &orchpb.Command_StartCronJob{StartCronJob: start}}))
	return errors.Join(errs...)
}

// apply proposes cmd; a refusal is the FSM saying the state moved on (a
// time recorded already, a job ended), which the next pass reads.
func (c *JobController) apply(ctx context.Context, cmd *orchpb.Command) error {
	res, err := c.proposer.Apply(ctx, cmd)
	if err != nil {
		return err
	}
	if res.GetErrorCode() != "" {
		c.log.Debug("job command refused", "err", res.GetError())
	}
	return nil
}
