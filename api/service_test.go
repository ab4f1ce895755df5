package api

import (
	"encoding/json"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func sampleService() *orchpb.Service {
	return &orchpb.Service{
		Spec: &orchpb.ServiceSpec{
			Kind: "Service", Name: "hello", Namespace: "default", Replicas: proto.Int32(3),
			Mode: orchpb.ModeReplicated, Image: "orch.local/hello:1",
			Args:      []string{"--port=8080"},
			Env:       map[string]string{"GREETING": "hi"},
			Ports:     []*orchpb.Port{{Name: "http", Port: 8080, Protocol: "tcp"}},
			Resources: &orchpb.Resources{Cpu: "100m", Memory: "32Mi"},
			Update:    &orchpb.UpdatePolicy{MaxSurge: proto.Int32(1), MaxUnavailable: proto.Int32(0), OnFailure: "rollback"},
		},
		Version: 42, Generation: 2, CreateIndex: 10,
		Status:       &orchpb.ServiceStatus{Desired: 3, Running: 2},
		PreviousSpec: &orchpb.ServiceSpec{Name: "hello"},
	}
}

func TestServiceFlatRoundTrip(t *testing.T) {
	svc := sampleService()
	b, err := MarshalService(svc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, `{"kind":"Service","name":"hello","namespace":"default","replicas":3,"mode":"replicated","image":"orch.local/hello:1"`) {
		t.Errorf("flat service does not start like a manifest: %s", s)
	}
	for _, want := range []string{
		`"version":42`, `"generation":2`, `"createIndex":10`,
		`"status":{"desired":3,"running":2,"healthy":0,"updating":false,"lastUpdateResult":"","message":"","updated":0,"updateState":"","canary":0}`,
		`"update":{"maxSurge":1,"maxUnavailable":0,"onFailure":"rollback"}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("flat service = %s\nwant it to contain %s", s, want)
		}
	}
	for _, absent := range []string{`"spec"`, `"previousSpec"`, `"command"`, `"stopGracePeriod"`, `"health"`} {
		if strings.Contains(s, absent) {
			t.Errorf("flat service = %s\nshould not contain %s", s, absent)
		}
	}
	back, err := UnmarshalService(b)
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(svc).(*orchpb.Service)
	want.PreviousSpec = nil
	if !proto.Equal(back, want) {
		t.Errorf("round trip:\n got %v\nwant %v", back, want)
	}
}

func TestServiceFlatAlwaysShown(t *testing.T) {
	b, err := MarshalService(&orchpb.Service{Spec: &orchpb.ServiceSpec{Name: "g", Mode: orchpb.ModeGlobal}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kind", "name", "namespace", "mode", "image", "version", "generation", "status", "createIndex"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing from %s", k, b)
		}
	}
	if _, ok := m["replicas"]; ok {
		t.Errorf("global service without replicas shows replicas: %s", b)
	}
	// Scaled to zero is a set value and shows.
	b, _ = MarshalService(&orchpb.Service{Spec: &orchpb.ServiceSpec{Name: "z", Replicas: proto.Int32(0)}})
	if !strings.Contains(string(b), `"replicas":0`) {
		t.Errorf("replicas 0 not shown: %s", b)
	}
}

func TestUnmarshalServiceErrors(t *testing.T) {
	for _, in := range []string{
		`[]`,
		`{"name":"x","bogus":true}`,
		`{"name":"x","version":"abc"}`,
		`{"name":"x","status":{"nope":1}}`,
	} {
		if _, err := UnmarshalService([]byte(in)); err == nil {
			t.Errorf("UnmarshalService(%s) succeeded, want an error", in)
		}
	}
}

func TestMarshalSpecIsManifestShaped(t *testing.T) {
	b, err := MarshalSpec(sampleService().Spec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"version"`) || strings.Contains(string(b), `"status"`) {
		t.Errorf("MarshalSpec added service keys: %s", b)
	}
	var spec orchpb.ServiceSpec
	if err := Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&spec, sampleService().Spec) {
		t.Errorf("MarshalSpec round trip: got %v", &spec)
	}
}

func TestObjectDispatch(t *testing.T) {
	ev, err := NewWatchEvent(5, EventPut, KindService, sampleService())
	if err != nil {
		t.Fatal(err)
	}
	line, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(line), `{"index":5,"type":"put","kind":"service","object":{"kind":"Service"`) {
		t.Errorf("watch line = %s", line)
	}
	var back WatchEvent
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	m, err := back.Message()
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := m.(*orchpb.Service)
	if !ok || svc.GetSpec().GetName() != "hello" || svc.GetVersion() != 42 {
		t.Errorf("Message() = %T %v", m, m)
	}
	if _, err := (WatchEvent{Kind: "bogus", Object: []byte(`{}`)}).Message(); err == nil {
		t.Error("Message() of an unknown kind succeeded")
	}
}
