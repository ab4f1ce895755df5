package apiserver

import (
	"net/http"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func TestContainerOfChecksTheSpec(t *testing.T) {
	rep := &orchpb.Replica{Service: "web", Slot: 1, Name: "web.1", Spec: &orchpb.ServiceSpec{Name: "web",
		Sidecars: []*orchpb.ReplicaContainerSpec{{Name: "proxy"}}, Init: []*orchpb.ReplicaContainerSpec{{Name: "migrate"}}}}
	for name, want := range map[string]string{"": "", "web": "", "proxy": "proxy", "migrate": "migrate"} {
		if got, err := containerOf(rep, name); err != nil || got != want {
			t.Errorf("containerOf(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	_, err := containerOf(rep, "nope")
	if err == nil || err.Status != http.StatusNotFound || !strings.Contains(err.Message, "containers: web, migrate, proxy") {
		t.Errorf("containerOf(nope) = %v, want 404 naming the containers", err)
	}
}
