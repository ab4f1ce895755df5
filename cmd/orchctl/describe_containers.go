package main

import (
	"fmt"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// containersText names a service's containers for describe: the main one,
// the sidecars, then the init containers in the order they run.
func containersText(spec *orchpb.ServiceSpec) string {
	parts := []string{spec.MainContainerName() + " (main)"}
	for _, c := range spec.GetSidecars() {
		parts = append(parts, c.GetName()+" (sidecar)")
	}
	if len(spec.GetInit()) > 0 {
		names := make([]string, len(spec.GetInit()))
		for i, c := range spec.GetInit() {
			names[i] = c.GetName()
		}
		parts = append(parts, "init: "+strings.Join(names, ", then "))
	}
	return strings.Join(parts, "; ")
}

// initProgress says how far a replica's init containers got.
func initProgress(r *orchpb.Replica) string {
	total, done := 0, 0
	for _, c := range r.GetContainers() {
		if c.GetKind() != orchpb.ContainerKindInit {
			continue
		}
		total++
		if c.Observed() == orchpb.ContainerCompleted {
			done++
		}
	}
	return fmt.Sprintf("%d of %d completed", done, total)
}

// containers prints the section of a replica's containers, the main one
// first; nothing for a replica of one container.
func (d describer) containers(r *orchpb.Replica) {
	spec := r.GetSpec()
	if !spec.HasExtraContainers() {
		return
	}
	images := map[string]string{}
	for _, list := range [][]*orchpb.ReplicaContainerSpec{spec.GetInit(), spec.GetSidecars()} {
		for _, c := range list {
			images[c.GetName()] = c.GetImage()
		}
	}
	rows := [][]string{{spec.MainContainerName(), "main", spec.GetImage(), dash(r.GetState()),
		fmt.Sprint(r.GetRestarts()), fmt.Sprint(r.GetExitCode()), ""}}
	for _, c := range r.GetContainers() {
		rows = append(rows, []string{c.GetName(), c.GetKind(), images[c.GetName()], dash(c.GetState()),
			fmt.Sprint(c.GetRestarts()), fmt.Sprint(c.GetExitCode()), c.GetMessage()})
	}
	d.section("Containers", []string{"NAME", "KIND", "IMAGE", "STATE", "RESTARTS", "EXIT", "MESSAGE"}, rows)
}
