package api

import (
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// storedService is what the API answers a PUT of the example manifest of
// docs/manifest.md with: a defaulted spec and a live status.
func storedService() *orchpb.Service {
	return &orchpb.Service{
		Spec: &orchpb.ServiceSpec{
			Kind: "Service", Name: "hello", Namespace: "default", Replicas: proto.Int32(3),
			Mode: orchpb.ModeReplicated, Image: "orch.local/hello:1",
			Command: []string{"/hello"}, Args: []string{"--port=8080"},
			Env:       map[string]string{"GREETING": "hi"},
			Ports:     []*orchpb.Port{{Name: "http", Port: 8080, Protocol: "tcp"}},
			Resources: &orchpb.Resources{Cpu: "100m", Memory: "32Mi"},
			Health: &orchpb.HealthCheck{
				Http:     &orchpb.HTTPCheck{Path: "/healthz", Port: 8080},
				Interval: durationpb.New(time.Second), Timeout: durationpb.New(500 * time.Millisecond), Retries: 3, StartPeriod: durationpb.New(2 * time.Second),
			},
			Restart:         &orchpb.RestartPolicy{Policy: "always", BackoffInitial: durationpb.New(time.Second), BackoffMax: durationpb.New(time.Minute)},
			Placement:       &orchpb.Placement{Constraints: []string{"zone == a", "disk != hdd"}, SpreadBy: "zone", Strategy: "spread"},
			Update:          &orchpb.UpdatePolicy{MaxSurge: proto.Int32(1), MaxUnavailable: proto.Int32(0), MinHealthy: durationpb.New(5 * time.Second), Deadline: durationpb.New(2 * time.Minute), OnFailure: "rollback"},
			StopGracePeriod: durationpb.New(10 * time.Second),
			Labels:          map[string]string{"tier": "web"},
		},
		Version: 1234567, Generation: 3, CreateIndex: 1200000,
		Status: &orchpb.ServiceStatus{Desired: 3, Running: 3, Healthy: 2, Updated: 2, UpdateState: "rolling-forward"},
	}
}

// BenchmarkMarshalService is the body of a service answer: fast is
// MarshalService; standard is the straightforward encoder it replaced
// (protojson, then its output taken apart with encoding/json to write
// 64-bit integers as numbers and durations in Go's form), oracle_old_test.go;
// protojson is protojson alone, the floor of any encoder built on it (its
// own form: 64-bit integers as strings, durations as "90s", not flat).
func BenchmarkMarshalService(b *testing.B) {
	svc := storedService()
	benchFastStandard(b, func() ([]byte, error) { return MarshalService(svc) },
		func() ([]byte, error) { return oldMarshalService(svc) }, svc)
}

func BenchmarkMarshalReplica(b *testing.B) {
	r := &orchpb.Replica{
		Id: "r1", Service: "hello", Slot: 2, State: string(orchpb.ReplicaRunning),
		Generation: 7, Version: 1234567, StartedAt: 1700000000000, HostPorts: []int32{8080},
		Resources: &orchpb.ResourceAmounts{CpuMillis: 100, MemoryBytes: 32 << 20},
	}
	benchFastStandard(b, func() ([]byte, error) { return Marshal(r) },
		func() ([]byte, error) { return oldMarshalWith(oldMarshalOpts, r) }, r)
}

func benchFastStandard(b *testing.B, fast, standard func() ([]byte, error), m proto.Message) {
	for _, impl := range []struct {
		name    string
		marshal func() ([]byte, error)
	}{{"fast", fast}, {"standard", standard}, {"protojson", func() ([]byte, error) { return oldMarshalOpts.Marshal(m) }}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
