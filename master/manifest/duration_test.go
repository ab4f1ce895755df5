package manifest

import (
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestDurationsTypedAtAdmission: the text a user writes is parsed once, in
// Go's syntax, and stored as a typed value; protojson's own form ("0.500s",
// what a protojson client writes) reads the same.
func TestDurationsTypedAtAdmission(t *testing.T) {
	spec, err := ParseOne([]byte(minimal + "stopGracePeriod: 1m30s\n" +
		"restart: {backoffInitial: 0.500s, backoffMax: 2m}\n" +
		"update: {minHealthy: 1500ms, deadline: 1h}\n" +
		"health: {exec: {command: [/bin/true]}, interval: 250ms, timeout: 0.1s, startPeriod: 60s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ got, want time.Duration }{
		"stopGracePeriod":        {spec.GetStopGracePeriod().AsDuration(), 90 * time.Second},
		"restart.backoffInitial": {spec.GetRestart().GetBackoffInitial().AsDuration(), 500 * time.Millisecond},
		"restart.backoffMax":     {spec.GetRestart().GetBackoffMax().AsDuration(), 2 * time.Minute},
		"update.minHealthy":      {spec.GetUpdate().GetMinHealthy().AsDuration(), 1500 * time.Millisecond},
		"update.deadline":        {spec.GetUpdate().GetDeadline().AsDuration(), time.Hour},
		"health.interval":        {spec.GetHealth().GetInterval().AsDuration(), 250 * time.Millisecond},
		"health.timeout":         {spec.GetHealth().GetTimeout().AsDuration(), 100 * time.Millisecond},
		"health.startPeriod":     {spec.GetHealth().GetStartPeriod().AsDuration(), time.Minute},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
	js, err := protojson.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseOne(js)
	if err != nil {
		t.Fatalf("ParseOne(%s): %v", js, err)
	}
	if back.GetStopGracePeriod().AsDuration() != 90*time.Second {
		t.Errorf("protojson's %s read back as %v", js, back.GetStopGracePeriod().AsDuration())
	}
}

// TestDefaultsAreTheTable: what admission writes is what a consumer's
// accessor answers for a spec that lacks the value.
func TestDefaultsAreTheTable(t *testing.T) {
	spec, err := ParseOne([]byte(minimal + "health: {exec: {command: [/bin/true]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	bare := &orchpb.ServiceSpec{}
	for name, c := range map[string]struct{ stored, fallback time.Duration }{
		"stopGracePeriod":        {spec.GetStopGracePeriod().AsDuration(), bare.StopGracePeriodOrDefault()},
		"restart.backoffInitial": {spec.GetRestart().GetBackoffInitial().AsDuration(), bare.GetRestart().BackoffInitialOrDefault()},
		"restart.backoffMax":     {spec.GetRestart().GetBackoffMax().AsDuration(), bare.GetRestart().BackoffMaxOrDefault()},
		"update.minHealthy":      {spec.GetUpdate().GetMinHealthy().AsDuration(), bare.GetUpdate().MinHealthyOrDefault()},
		"update.deadline":        {spec.GetUpdate().GetDeadline().AsDuration(), bare.GetUpdate().DeadlineOrDefault()},
		"health.interval":        {spec.GetHealth().GetInterval().AsDuration(), bare.GetHealth().IntervalOrDefault()},
		"health.timeout":         {spec.GetHealth().GetTimeout().AsDuration(), bare.GetHealth().TimeoutOrDefault()},
		"health.startPeriod":     {spec.GetHealth().GetStartPeriod().AsDuration(), bare.GetHealth().StartPeriodOrDefault()},
	} {
		if c.stored != c.fallback {
			t.Errorf("%s: admission stores %v, the accessor answers %v", name, c.stored, c.fallback)
		}
	}
	if got, want := spec.GetHealth().GetRetries(), bare.GetHealth().RetriesOrDefault(); got != want {
		t.Errorf("health.retries: admission stores %d, the accessor answers %d", got, want)
	}
	if got, want := spec.GetUpdate().GetOnFailure(), bare.GetUpdate().OnFailureOrDefault(); got != want {
		t.Errorf("update.onFailure: admission stores %q, the accessor answers %q", got, want)
	}
}
