package api

import (
	"strings"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestDurationsReadAsWritten: the API shows a stored duration as the user
// wrote it, and reads that back (as the flat Service, inside a Replica, and
// in protojson's own form).
func TestDurationsReadAsWritten(t *testing.T) {
	svc := storedService()
	svc.Spec.Health.StartPeriod = durationpb.New(90 * time.Second)
	svc.Spec.Restart.BackoffInitial = durationpb.New(-1500 * time.Millisecond) // refused at admission, shown all the same
	b, err := MarshalService(svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"interval":"1s","timeout":"500ms","retries":3,"startPeriod":"1m30s"`,
		`"backoffInitial":"-1.5s","backoffMax":"1m"`,
		`"minHealthy":"5s","deadline":"2m"`,
		`"stopGracePeriod":"10s"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("MarshalService = %s\nwant it to contain %s", b, want)
		}
	}
	back, err := UnmarshalService(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back.Spec, svc.Spec) {
		t.Errorf("round trip:\n got %v\nwant %v", back.Spec, svc.Spec)
	}

	r := &orchpb.Replica{Id: "r1", Spec: svc.Spec}
	rb, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rb), `"stopGracePeriod":"10s"`) {
		t.Errorf("Marshal(replica) = %s: the spec's durations are not in Go's form", rb)
	}
	var rback orchpb.Replica
	if err := Unmarshal(rb, &rback); err != nil || !proto.Equal(&rback, r) {
		t.Errorf("Unmarshal(%s) = %v, %v; want %v", rb, &rback, err, r)
	}

	var spec orchpb.ServiceSpec
	if err := Unmarshal([]byte(`{"stop_grace_period": "0.250s", "update": {"deadline": "120s"}}`), &spec); err != nil {
		t.Fatal(err)
	}
	if spec.StopGracePeriodOrDefault() != 250*time.Millisecond || spec.GetUpdate().DeadlineOrDefault() != 2*time.Minute {
		t.Errorf("protojson's form read as %v", &spec)
	}
	if err := Unmarshal([]byte(`{"stopGracePeriod":"soon"}`), &spec); err == nil || !strings.Contains(err.Error(), "soon") {
		t.Errorf(`Unmarshal of "soon" = %v, want protojson's error naming it`, err)
	}
}

func TestAppendProtoDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Second: "1s", 90 * time.Second: "90s", 500 * time.Millisecond: "0.500s",
		-1500 * time.Millisecond: "-1.500s", time.Nanosecond: "0.000000001s", -time.Microsecond: "-0.000001s",
		time.Duration(-1 << 63): "-9223372036.854775808s",
	} {
		if got := string(appendProtoDuration(nil, int64(d/time.Second), int64(d%time.Second))); got != want {
			t.Errorf("appendProtoDuration(%v) = %s, want %s", d, got, want)
		}
		// protojson's own rendering, which the wire form keeps beyond a
		// time.Duration's range.
		if js, err := protojson.Marshal(durationpb.New(d)); err != nil || string(js) != `"`+want+`"` {
			t.Errorf("protojson writes %v as %s, %v; want %q", d, js, err, want)
		}
	}
}
