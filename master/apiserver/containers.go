package apiserver

import (
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/endpoint"
	orchpb "github.com/orch-io/orch/proto"
)

// containerOf checks the container a logs or exec request names against
// the replica's spec and returns what to ask the agent for: "" for the
// main container (by default, or by the service's name), else the name of
// a sidecar or init container.
func containerOf(rep *orchpb.Replica, name string) (string, *api.Error) {
	spec := rep.GetSpec()
	if name == "" || name == spec.MainContainerName() {
		return "", nil
	}
	for _, list := range [][]*orchpb.ReplicaContainerSpec{spec.GetInit(), spec.GetSidecars()} {
		for _, c := range list {
			if c.GetName() == name {
				return name, nil
			}
		}
	}
	return "", endpoint.NotFound("replica " + rep.DisplayName() + " has no container " + strconv.Quote(name) + " (" + containerNames(spec) + ")")
}

// containerNames lists a replica's containers for an error message.
func containerNames(spec *orchpb.ServiceSpec) string {
	out := "containers: " + spec.MainContainerName()
	for _, list := range [][]*orchpb.ReplicaContainerSpec{spec.GetInit(), spec.GetSidecars()} {
		for _, c := range list {
			out += ", " + c.GetName()
		}
	}
	return out
}
