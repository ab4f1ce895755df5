package main

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func TestParseVolumeName(t *testing.T) {
	svc, slot, name, err := parseVolumeName("my-db.12/data")
	if err != nil || svc != "my-db" || slot != 12 || name != "data" {
		t.Fatalf("got %q %d %q %v", svc, slot, name, err)
	}
	for _, bad := range []string{"db/data", "db.2", "db.x/data", "db.0/data", ".2/data", "db.2/"} {
		if _, _, _, err := parseVolumeName(bad); err == nil || !strings.Contains(err.Error(), "SERVICE.SLOT/NAME") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestPinnedSlots: a drain tells the slots held by a volume on the node
// from those that can move.
func TestPinnedSlots(t *testing.T) {
	vols := []*orchpb.Volume{
		{Namespace: "default", Service: "db", Slot: 1, Name: "data", Node: "n1"},
		{Namespace: "default", Service: "db", Slot: 2, Name: "data", Node: "n2"},
	}
	left := []*orchpb.Replica{
		{Namespace: "default", Service: "db", Slot: 1, Name: "db.1", Node: "n1"},
		{Namespace: "default", Service: "web", Slot: 1, Name: "web.1", Node: "n1"},
	}
	pinned, movable := pinnedSlots(vols, "n1", left)
	if len(pinned) != 1 || pinned[0] != "default/db.1 (volume data)" || len(movable) != 1 || movable[0].GetService() != "web" {
		t.Fatalf("pinned %v, movable %v", pinned, movable)
	}
}
