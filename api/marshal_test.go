package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func TestMarshalNumbersAndDefaults(t *testing.T) {
	r := &orchpb.Replica{
		Id: "r1", Service: "hello", Slot: 2, State: string(orchpb.ReplicaRunning),
		Generation: 7, Version: 18446744073709551615, StartedAt: -5,
		HostPorts: []int32{8080},
	}
	b, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`"restarts":0`, `"generation":7`, `"version":18446744073709551615`,
		`"startedAt":-5`, `"hostPorts":[8080]`, `"exitCode":0`, `"message":""`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Marshal = %s\nwant it to contain %s", s, want)
		}
	}
	// An unset sub-message is absent, not null.
	if strings.Contains(s, "resources") || strings.Contains(s, "null") {
		t.Errorf("Marshal = %s: unset resources should be omitted", s)
	}
	var back orchpb.Replica
	if err := Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(r, &back) {
		t.Errorf("round trip: got %v, want %v", &back, r)
	}
}

func TestMarshalNestedAndMaps(t *testing.T) {
	n := &orchpb.Node{
		Id: "n1", Name: "a", Labels: map[string]string{"zone": "a", "disk": "ssd"},
		Capacity:  &orchpb.ResourceAmounts{CpuMillis: 2000, MemoryBytes: 1 << 32},
		Allocated: &orchpb.ResourceAmounts{},
	}
	b, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`"capacity":{"cpuMillis":2000,"memoryBytes":4294967296}`,
		`"allocated":{"cpuMillis":0,"memoryBytes":0}`,
		`"labels":{"disk":"ssd","zone":"a"}`,
		`"lastHeartbeat":0`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Marshal = %s\nwant it to contain %s", s, want)
		}
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var back orchpb.Node
	if err := Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(n, &back) {
		t.Errorf("round trip: got %v, want %v", &back, n)
	}
}

func TestUnmarshalRejectsUnknown(t *testing.T) {
	var r orchpb.Replica
	if err := Unmarshal([]byte(`{"id":"x","bogus":1}`), &r); err == nil {
		t.Fatal("Unmarshal accepted an unknown field")
	}
	// protojson's own string form of 64-bit integers is still accepted.
	if err := Unmarshal([]byte(`{"version":"12"}`), &r); err != nil || r.Version != 12 {
		t.Fatalf("Unmarshal string int64: %v, version %d", err, r.Version)
	}
}

func TestMarshalListAndUnmarshalList(t *testing.T) {
	imgs := []*orchpb.Image{{Name: "orch.local/hello:1", Digest: "sha256:ab", Size: 1234, Version: 3}, {Name: "b"}}
	b, err := MarshalList(imgs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"orch.local/hello:1","digest":"sha256:ab","size":1234,"version":3},{"name":"b","digest":"","size":0,"version":0}]`
	if string(b) != want {
		t.Errorf("MarshalList = %s\nwant %s", b, want)
	}
	back, err := UnmarshalList(b, func() *orchpb.Image { return &orchpb.Image{} })
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || !proto.Equal(back[0], imgs[0]) {
		t.Errorf("UnmarshalList = %v", back)
	}
	empty, err := MarshalList([]*orchpb.Image{})
	if err != nil || string(empty) != "[]" {
		t.Errorf("MarshalList(empty) = %s, %v; want []", empty, err)
	}
}

// TestEncoderCoversProto fails when a message of orch.proto gains a field
// the wire encoder has no form for: it must learn protojson's rules for
// that kind first, held to them by FuzzMarshalMatchesOldEncoder.
func TestEncoderCoversProto(t *testing.T) {
	msgs := orchpb.File_proto_orch_proto.Messages()
	for i := 0; i < msgs.Len(); i++ {
		m := dynamicpb.NewMessage(msgs.Get(i))
		fields := msgs.Get(i).Fields()
		for j := 0; j < fields.Len(); j++ {
			fd, v := fields.Get(j), m.NewField(fields.Get(j))
			switch {
			case fd.IsMap():
				if fd.MapKey().Kind() != protoreflect.StringKind {
					t.Errorf("%s: map key %s has no wire form", fd.FullName(), fd.MapKey().Kind())
				}
				fd, v = fd.MapValue(), v.Map().NewValue()
			case fd.IsList():
				v = v.List().NewElement()
			}
			if _, err := appendSingular(nil, fd, v, true); errors.Is(err, errNoWireForm) {
				t.Errorf("%s: %v", fd.FullName(), err)
			}
		}
	}
}
