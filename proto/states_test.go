package orchpb

import (
	"reflect"
	"testing"
)

// TestStateKindsAreDistinct: each kind of state has its own type, so that
// comparing a replica's desired state with its observed one, or a node's
// state with a replica's, is a compile error rather than a silent false.
func TestStateKindsAreDistinct(t *testing.T) {
	kinds := map[string]reflect.Type{
		"Replica.Desired":           reflect.TypeOf((*Replica).Desired).Out(0),
		"Replica.Observed":          reflect.TypeOf((*Replica).Observed).Out(0),
		"Node.Status":               reflect.TypeOf((*Node).Status).Out(0),
		"UpdateStatus.RolloutState": reflect.TypeOf((*UpdateStatus).RolloutState).Out(0),
	}
	seen := map[reflect.Type]string{}
	for name, typ := range kinds {
		if typ == reflect.TypeOf("") {
			t.Errorf("%s returns a plain string", name)
		}
		if other, dup := seen[typ]; dup {
			t.Errorf("%s and %s return the same type %v", name, other, typ)
		}
		seen[typ] = name
	}
	if reflect.TypeOf((*ReplicaStatus).Observed).Out(0) != kinds["Replica.Observed"] ||
		reflect.TypeOf((*Endpoint).Observed).Out(0) != kinds["Replica.Observed"] {
		t.Error("a replica's observed state has more than one type")
	}
}

// TestAdminReadyIsStoredEmpty: the operator's "ready" is no choice at all,
// stored as "" so that a node's admin state reads "" unless cordoned or
// draining.
func TestAdminReadyIsStoredEmpty(t *testing.T) {
	n := &Node{}
	if n.Admin() != NodeReady {
		t.Errorf("unset admin state reads %q, want ready", n.Admin())
	}
	n.SetAdmin(NodeDraining)
	if n.AdminState != "draining" || n.Admin() != NodeDraining {
		t.Errorf("draining stored as %q, read as %q", n.AdminState, n.Admin())
	}
	n.SetAdmin(NodeReady)
	if n.AdminState != "" || n.Admin() != NodeReady {
		t.Errorf("ready stored as %q, read as %q", n.AdminState, n.Admin())
	}
}
