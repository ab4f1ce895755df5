package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// BenchmarkSecretMountOverhead measures apply-to-running (as
// BenchmarkApplyToRunning: the API call to the agent's report of a running
// container) of a one-replica service with a secret on tmpfs and of the same
// service without it, 10 each, interleaved, and reports both medians and
// their difference: what a secret mount adds to a start.
func BenchmarkSecretMountOverhead(b *testing.B) {
	for range b.N {
		d := startDevCluster(b)
		d.loadHello()
		ctx := context.Background()
		if _, err := d.api.PutSecret(ctx, &api.SecretManifest{Name: "bench", Data: map[string][]byte{"password": []byte("x")}}); err != nil {
			b.Fatal(err)
		}
		const samples = 10
		var plain, withSecret []time.Duration
		for i := range samples {
			const base = "kind: Service\nname: %s\nreplicas: 1\nimage: orch.local/hello:1\nstopGracePeriod: 1s\n"
			plain = append(plain, d.applyToRunning(b, fmt.Sprintf("plain-%d", i), base))
			withSecret = append(withSecret, d.applyToRunning(b, fmt.Sprintf("secret-%d", i), base+"secrets: [{name: bench, mountPath: /run/secrets/bench}]\n"))
		}
		mp, ms := median(plain), median(withSecret)
		b.ReportMetric(ms-mp, "overhead-ms")
		b.ReportMetric(mp, "plain-median-ms")
		b.ReportMetric(ms, "secret-median-ms")
	}
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// applyToRunning applies the service (yaml with %s for its name), waits
// for its replica to run, deletes it and returns the time to running.
func (d *devCluster) applyToRunning(b *testing.B, name, yaml string) time.Duration {
	b.Helper()
	ctx := context.Background()
	spec, err := manifest.ParseOne([]byte(fmt.Sprintf(yaml, name)))
	if err != nil {
		b.Fatal(err)
	}
	_, index, err := d.api.ListReplicas(ctx, client.ReplicaFilter{})
	if err != nil {
		b.Fatal(err)
	}
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errc := d.api.Watch(watchCtx, index, "replica")
	start := time.Now()
	if _, err := d.api.ApplyService(ctx, spec, nil); err != nil {
		b.Fatal(err)
	}
	for ev := range events {
		msg, err := ev.Message()
		if err != nil {
			b.Fatal(err)
		}
		if rep := msg.(*orchpb.Replica); rep.GetService() == name && rep.Observed() == orchpb.ReplicaRunning {
			took := time.Since(start)
			if _, err := d.api.DeleteService(ctx, "default", name); err != nil {
				b.Fatal(err)
			}
			return took
		}
	}
	b.Fatalf("the watch ended before %s ran: %v", name, <-errc)
	return 0
}

// BenchmarkSecretToReplica measures, 10 times, the time from writing a new
// value of a secret to a running replica of the service that uses it
// answering the new value from its mounted file (after the rollout the
// change starts), and reports the median.
func BenchmarkSecretToReplica(b *testing.B) {
	for range b.N {
		d := startDevCluster(b)
		d.loadHello()
		ctx := context.Background()
		put := func(v string) {
			if _, err := d.api.PutSecret(ctx, &api.SecretManifest{Name: "db", Data: map[string][]byte{"password": []byte(v)}}); err != nil {
				b.Fatal(err)
			}
		}
		put("v0")
		d.apply(`
kind: Service
name: rot
replicas: 1
image: orch.local/hello:1
args: ["--port=8080"]
secrets: [{name: db, mountPath: /run/secrets/db}]
stopGracePeriod: 1s
`)
		d.running("rot", 1)
		const samples = 10
		var took []time.Duration
		for i := 1; i <= samples; i++ {
			v := fmt.Sprintf("v%d", i)
			start := time.Now()
			put(v)
			took = append(took, d.waitValue(b, "rot", v, start))
		}
		b.ReportMetric(median(took), "median-ms")
		b.ReportMetric(float64(slices.Max(took).Microseconds())/1000, "max-ms")
	}
}

// waitValue polls the service's running replicas until one answers value
// from its secret file; it returns the time since start.
func (d *devCluster) waitValue(b *testing.B, service, value string, start time.Time) time.Duration {
	b.Helper()
	deadline := start.Add(defaultTimeout)
	for time.Now().Before(deadline) {
		reps, _, err := d.api.ListReplicas(context.Background(), client.ReplicaFilter{Namespace: "default", Service: service})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range reps {
			if r.Observed() != orchpb.ReplicaRunning || r.GetIp() == "" {
				continue
			}
			if body, err := httpGet("http://" + r.GetIp() + ":8080/file?path=/run/secrets/db/password"); err == nil && strings.TrimSpace(body) == value {
				return time.Since(start)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("no replica of %s answered %s within %v", service, value, defaultTimeout)
	return 0
}
