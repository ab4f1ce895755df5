package health

import (
	"errors"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	fail := errors.New("GET /healthz: 500")
	type step struct {
		at      time.Duration // since the container started
		err     error
		want    State
		changed bool
	}
	cases := []struct {
		name        string
		retries     int
		startPeriod time.Duration
		initial     State
		steps       []step
	}{
		{"healthy at the first success", 3, 0, Starting, []step{
			{1 * time.Second, nil, Healthy, true},
			{2 * time.Second, nil, Healthy, false},
		}},
		{"unhealthy after retries consecutive failures", 3, 0, Starting, []step{
			{1 * time.Second, nil, Healthy, true},
			{2 * time.Second, fail, Healthy, false},
			{3 * time.Second, fail, Healthy, false},
			{4 * time.Second, fail, Unhealthy, true},
			{5 * time.Second, fail, Unhealthy, false},
			{6 * time.Second, nil, Healthy, true},
		}},
		{"a success resets the count", 2, 0, Starting, []step{
			{1 * time.Second, fail, Starting, false},
			{2 * time.Second, nil, Healthy, true},
			{3 * time.Second, fail, Healthy, false},
			{4 * time.Second, nil, Healthy, false},
			{5 * time.Second, fail, Healthy, false},
			{6 * time.Second, fail, Unhealthy, true},
		}},
		{"never healthy: unhealthy after retries", 2, 0, Starting, []step{
			{1 * time.Second, fail, Starting, false},
			{2 * time.Second, fail, Unhealthy, true},
		}},
		{"failures in the start period do not count", 2, 5 * time.Second, Starting, []step{
			{1 * time.Second, fail, Starting, false},
			{2 * time.Second, fail, Starting, false},
			{3 * time.Second, fail, Starting, false},
			{6 * time.Second, fail, Starting, false},
			{7 * time.Second, fail, Unhealthy, true},
		}},
		{"after a first success the start period is over", 2, 10 * time.Second, Starting, []step{
			{1 * time.Second, nil, Healthy, true},
			{2 * time.Second, fail, Healthy, false},
			{3 * time.Second, fail, Unhealthy, true},
		}},
		{"adopted healthy: start period does not apply", 1, 10 * time.Second, Healthy, []step{
			{1 * time.Second, fail, Unhealthy, true},
		}},
		{"retries 0 means 1", 0, 0, Starting, []step{
			{1 * time.Second, fail, Unhealthy, true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTracker(c.retries, c.startPeriod, t0, c.initial)
			for i, s := range c.steps {
				res, changed := tr.observe(t0.Add(s.at), s.err)
				if res.State != s.want || changed != s.changed {
					t.Fatalf("step %d (%v, err=%v): state %v changed %v, want %v changed %v", i, s.at, s.err, res.State, changed, s.want, s.changed)
				}
				if s.err != nil && res.Message != s.err.Error() {
					t.Errorf("step %d: message %q", i, res.Message)
				}
				if s.err == nil && res.Message != "" {
					t.Errorf("step %d: message %q after a success", i, res.Message)
				}
			}
		})
	}
}
