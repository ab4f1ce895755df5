package hollow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

var errNotRun = errors.New("not run: an earlier phase failed")

// BenchmarkScale is issue 15's scale run (make bench-scale, docs/scale.md):
// three real masters, each an `orchd master` process (Raft on TCP, bbolt)
// measured by PID; 5,000 hollow nodes in this process over 5 zones; 1,000
// services of 150 replicas spread over the zones. It times the placement
// (and API reads meanwhile), measures the steady state, loses a node and
// kills the leader, then prints its figures against the goals
// (lines beginning "| ") and reports them. One cluster per process: run
// it alone, with -benchtime 1x.
func BenchmarkScale(b *testing.B) {
	if b.N != 1 {
		b.Skip("BenchmarkScale runs one cluster: -benchtime 1x")
	}
	sz := scaleSizesFromEnv(b)
	serveHollowProfiles(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := startScaleCluster(ctx, b)
	progress("3 masters healthy")
	r := &scaleReport{sizes: sz}
	nice, err := favourFleet()
	if err != nil {
		b.Fatal(err)
	}
	r.fleetNice = nice
	f, registered, err := c.startFleet(sz)
	if err != nil {
		b.Fatal(err)
	}
	r.registered = registered
	serveFleetBreaks(f)
	progress("%d hollow nodes ready in %s", sz.nodes, registered)
	b.ResetTimer()
	// Each phase runs when those before it succeeded; one not run is
	// reported as such, its figures unmeasured.
	var dead string
	for _, p := range []struct {
		name string
		run  func() error
	}{
		{"place", func() error { return c.place(r, f) }},
		{"steady", func() error { return c.steady(r) }},
		{"loss", func() (err error) { dead, err = c.nodeLoss(r, f); return err }},
		{"kill", func() error { return c.leaderKill(r, dead) }},
	} {
		if len(r.failed) > 0 {
			r.fail(p.name, errNotRun)
			continue
		}
		progress("phase %s", p.name)
		if err := p.run(); err != nil {
			r.fail(p.name, err)
		}
	}
	b.StopTimer()
	r.metrics(b)
	fmt.Fprint(os.Stdout, r.table())
	if len(r.failed) > 0 {
		for _, m := range c.masters {
			b.Logf("%s's last output:\n%s", m.id, m.logTail())
		}
	}
}

// progress tells a watching person where the run is, on standard error.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scale %s: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}
