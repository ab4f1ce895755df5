package agent

import (
	"bytes"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func TestSavedSetHasNoSecretValues(t *testing.T) {
	set := &orchpb.AssignmentSet{NodeId: "n1", Assignments: []*orchpb.Assignment{{
		Replica:    &orchpb.Replica{Id: "r1"},
		Spec:       &orchpb.ServiceSpec{Name: "web", EnvFrom: map[string]*orchpb.EnvFromSource{"P": {Secret: "db", Key: "password"}}},
		SecretData: []*orchpb.SecretData{{Kind: "secret", Name: "db", Data: map[string][]byte{"password": []byte("hunter2-value")}}},
	}}}
	b, err := proto.Marshal(savedSet(set))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("hunter2-value")) {
		t.Fatal("the saved set holds a secret value")
	}
	if len(set.Assignments[0].SecretData) != 1 {
		t.Fatal("savedSet changed the set in memory")
	}
	env, err := envFrom(set.Assignments[0])
	if err != nil || env["P"] != "hunter2-value" {
		t.Fatalf("envFrom: %v, %v", env, err)
	}
	set.Assignments[0].SecretData = nil
	if _, err := envFrom(set.Assignments[0]); err == nil {
		t.Fatal("envFrom without the values did not fail")
	}
}
