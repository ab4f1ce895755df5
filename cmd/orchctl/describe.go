package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

// describeEvents is how many recent events describe shows.
const describeEvents = 20

func (a *app) describeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "describe service|job|replica|node NAME",
		Short: "Everything about one object, its recent events included",
		Example: `  orchctl describe service hello
  orchctl describe job migrate
  orchctl describe replica hello.2
  orchctl describe node node-a`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKind(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			d := describer{app: a, c: c, ctx: cmd.Context(), now: time.Now()}
			switch k {
			case serviceKind:
				return d.service(args[1])
			case jobKind:
				return d.job(args[1])
			case replicaKind:
				return d.replica(args[1])
			case nodeKind:
				return d.node(args[1])
			}
			return fmt.Errorf("describe %s: want service, job, replica or node", k.plural)
		},
	}
}

type describer struct {
	*app
	c   *client.Client
	ctx context.Context
	now time.Time
}

// replicasAndEvents are a service's (or job's) replicas and recent events.
func (d describer) replicasAndEvents(name string) ([]*orchpb.Replica, []api.ClusterEvent, error) {
	reps, _, err := d.c.ListReplicas(d.ctx, client.ReplicaFilter{Namespace: d.namespace, Service: name})
	if err != nil {
		return nil, nil, err
	}
	evs, err := d.c.Events(d.ctx, client.EventFilter{Namespace: d.namespace, Service: name, Limit: describeEvents})
	return reps, evs, err
}

// field is one "Key: value" line.
type field struct{ key, value string }

func (d describer) service(name string) error {
	svc, err := d.c.GetService(d.ctx, d.namespace, name)
	if err != nil {
		return fmt.Errorf("service/%s: %w", name, err)
	}
	reps, evs, err := d.replicasAndEvents(name)
	if err != nil {
		return err
	}
	if d.structured() {
		return d.printDescribed("service", svc, reps, evs)
	}
	spec, st := svc.GetSpec(), svc.GetStatus()
	u := spec.GetUpdate()
	fields := []field{
		{"Name", spec.GetName()},
		{"Namespace", spec.GetNamespace()},
		{"Mode", spec.GetMode()},
		{"Image", spec.GetImage()},
		{"Replicas", fmt.Sprintf("%d desired, %d running, %d healthy, %d on the current generation", st.GetDesired(), st.GetRunning(), st.GetHealthy(), st.GetUpdated())},
		{"Generation", fmt.Sprintf("%d (version %d)", svc.GetGeneration(), svc.GetVersion())},
		{"Rollout", dash(st.GetUpdateState()) + messageSuffix(st.GetMessage())},
		{"Update policy", fmt.Sprintf("maxSurge %d, maxUnavailable %d, minHealthy %s, deadline %s, onFailure %s",
			u.GetMaxSurge(), u.GetMaxUnavailable(), orchpb.FormatDuration(u.MinHealthyOrDefault()), orchpb.FormatDuration(u.DeadlineOrDefault()), u.GetOnFailure())},
		{"Placement", placementText(spec.GetPlacement())},
		{"Priority", fmt.Sprint(spec.GetPriority())},
		{"Resources", fmt.Sprintf("cpu %s, memory %s", dash(spec.GetResources().GetCpu()), dash(spec.GetResources().GetMemory()))},
		{"Ports", portsText(spec.GetPorts())},
		{"Health", healthText(spec.GetHealth())},
		{"Labels", formatLabels(spec.GetLabels())},
	}
	if spec.HasExtraContainers() {
		fields = append(fields, field{"Containers", containersText(spec)})
	}
	d.printFields(fields)
	names := nodeNames(d.ctx, d.c)
	rows := make([][]string, 0, len(reps))
	for _, r := range reps {
		rows = append(rows, []string{r.DisplayName(), r.GetId(), dash(names[r.GetNode()]), replicaState(r), dash(r.GetIp()),
			fmt.Sprint(r.GetRestarts()), u64(r.GetGeneration()), r.GetMessage()})
	}
	d.section("Replicas", []string{"NAME", "ID", "NODE", "STATE", "IP", "RESTARTS", "GENERATION", "MESSAGE"}, rows)
	d.events(evs)
	return nil
}

func (d describer) replica(name string) error {
	r, err := d.c.GetReplica(d.ctx, name, d.namespace)
	if err != nil {
		return fmt.Errorf("replica/%s: %w", name, err)
	}
	evs, err := d.c.Events(d.ctx, client.EventFilter{Replica: r.GetId(), Limit: describeEvents})
	if err != nil {
		return err
	}
	if d.structured() {
		return d.printDescribed("replica", r, nil, evs)
	}
	names := nodeNames(d.ctx, d.c)
	started := "-"
	if r.GetStartedAt() > 0 {
		t := time.UnixMilli(r.GetStartedAt())
		started = fmt.Sprintf("%s (%s ago)", t.Local().Format(time.RFC3339), formatAge(d.now.Sub(t)))
	}
	fields := []field{
		{"Name", r.DisplayName()},
		{"ID", r.GetId()},
		{"Namespace", r.GetNamespace()},
		{"Service", r.GetService()},
		{"Slot", fmt.Sprint(r.GetSlot())},
		{"Node", dash(names[r.GetNode()])},
		{"State", fmt.Sprintf("%s (desired %s)", dash(r.GetState()), r.GetDesiredState())},
		{"IP", dash(r.GetIp())},
		{"Image", r.GetSpec().GetImage()},
		{"Generation", u64(r.GetGeneration())},
		{"Started", started},
		{"Restarts", fmt.Sprint(r.GetRestarts())},
		{"Exit code", fmt.Sprint(r.GetExitCode())},
		{"Resources", fmt.Sprintf("cpu %s, memory %s", formatCPU(r.GetResources().GetCpuMillis()), formatBytes(r.GetResources().GetMemoryBytes()))},
		{"Message", dash(r.GetMessage())},
	}
	if len(r.GetSpec().GetInit()) > 0 {
		fields = append(fields, field{"Init", initProgress(r)})
	}
	d.printFields(fields)
	d.containers(r)
	d.events(evs)
	return nil
}

func (d describer) node(name string) error {
	n, err := d.c.GetNode(d.ctx, name)
	if err != nil {
		return fmt.Errorf("node/%s: %w", name, err)
	}
	reps, _, err := d.c.ListReplicas(d.ctx, client.ReplicaFilter{Node: n.GetId()})
	if err != nil {
		return err
	}
	evs, err := d.c.Events(d.ctx, client.EventFilter{Node: n.GetName(), Limit: describeEvents})
	if err != nil {
		return err
	}
	if d.structured() {
		return d.printDescribed("node", n, reps, evs)
	}
	heartbeat := "-"
	if n.GetLastHeartbeat() > 0 {
		heartbeat = formatAge(d.now.Sub(time.UnixMilli(n.GetLastHeartbeat()))) + " ago"
	}
	c, al := n.GetCapacity(), n.GetAllocated()
	d.printFields([]field{
		{"Name", n.GetName()},
		{"ID", n.GetId()},
		{"State", n.GetState()},
		{"Address", n.GetAddress()},
		{"Subnet", dash(n.GetSubnet())},
		{"Labels", formatLabels(n.GetLabels())},
		{"Capacity", fmt.Sprintf("cpu %s, memory %s", formatCPU(c.GetCpuMillis()), formatBytes(c.GetMemoryBytes()))},
		{"Allocated", fmt.Sprintf("cpu %s, memory %s", formatCPU(al.GetCpuMillis()), formatBytes(al.GetMemoryBytes()))},
		{"Devices", devicesText(n.GetDevices())},
		{"Last heartbeat", heartbeat},
	})
	rows := make([][]string, 0, len(reps))
	for _, r := range reps {
		if r.Terminal() && r.Desired() == orchpb.DesiredStopped {
			continue
		}
		rows = append(rows, []string{r.GetNamespace() + "/" + r.DisplayName(), r.GetId(), r.GetState(),
			formatCPU(r.GetResources().GetCpuMillis()), formatBytes(r.GetResources().GetMemoryBytes()), r.GetMessage()})
	}
	d.section("Replicas", []string{"NAME", "ID", "STATE", "CPU", "MEMORY", "MESSAGE"}, rows)
	d.events(evs)
	return nil
}

func (d describer) printFields(fields []field) {
	width := 0
	for _, f := range fields {
		width = max(width, len(f.key))
	}
	for _, f := range fields {
		fmt.Fprintf(d.stdout, "%-*s  %s\n", width+1, f.key+":", f.value)
	}
}

func (d describer) section(title string, header []string, rows [][]string) {
	fmt.Fprintf(d.stdout, "\n%s:\n", title)
	if len(rows) == 0 {
		fmt.Fprintln(d.stdout, "  <none>")
		return
	}
	indent(d.stdout, header, rows)
}

func (d describer) events(evs []api.ClusterEvent) {
	rows := make([][]string, 0, len(evs))
	for _, e := range evs {
		rows = append(rows, eventAgeRow(e, d.now))
	}
	d.section("Events", []string{"AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"}, rows)
}

// printDescribed prints {"<kind>": object, "replicas": [...], "events": [...]}.
func (d describer) printDescribed(kindName string, obj proto.Message, reps []*orchpb.Replica, evs []api.ClusterEvent) error {
	o, err := api.MarshalObject(obj)
	if err != nil {
		return err
	}
	doc := map[string]any{kindName: json.RawMessage(o)}
	if reps != nil {
		r, err := api.MarshalList(reps)
		if err != nil {
			return err
		}
		doc["replicas"] = json.RawMessage(r)
	}
	if evs == nil {
		evs = []api.ClusterEvent{}
	}
	doc["events"] = evs
	return d.printValue(doc)
}

func placementText(p *orchpb.Placement) string {
	var parts []string
	if len(p.GetConstraints()) > 0 {
		parts = append(parts, "constraints "+strings.Join(p.GetConstraints(), ", "))
	}
	if p.GetSpreadBy() != "" {
		parts = append(parts, "spreadBy "+p.GetSpreadBy())
	}
	parts = append(parts, "strategy "+dash(p.GetStrategy()))
	if p.GetMaxPerNode() > 0 {
		parts = append(parts, fmt.Sprintf("maxPerNode %d", p.GetMaxPerNode()))
	}
	for _, rel := range []struct {
		name string
		list []*orchpb.ServiceAffinity
	}{{"affinity", p.GetAffinity()}, {"antiAffinity", p.GetAntiAffinity()}} {
		var names []string
		for _, a := range rel.list {
			names = append(names, a.GetService())
		}
		if len(names) > 0 {
			parts = append(parts, rel.name+" "+strings.Join(names, ", "))
		}
	}
	if len(p.GetDevices()) > 0 {
		var devs []string
		for name, n := range p.GetDevices() {
			devs = append(devs, fmt.Sprintf("%s %d", name, n))
		}
		slices.Sort(devs)
		parts = append(parts, "devices "+strings.Join(devs, ", "))
	}
	return strings.Join(parts, "; ")
}

// devicesText lists a node's advertised devices: gpu /dev/g0 /dev/g1; fpga /dev/f0.
func devicesText(groups []*orchpb.DeviceGroup) string {
	var parts []string
	for _, g := range groups {
		parts = append(parts, g.GetName()+" "+strings.Join(g.GetPaths(), " "))
	}
	return dash(strings.Join(parts, "; "))
}

func portsText(ports []*orchpb.Port) string {
	if len(ports) == 0 {
		return "-"
	}
	var parts []string
	for _, p := range ports {
		s := fmt.Sprintf("%d/%s", p.GetPort(), p.GetProtocol())
		if p.GetName() != "" {
			s = p.GetName() + " " + s
		}
		if p.GetHostPort() > 0 {
			s += fmt.Sprintf(" (host %d)", p.GetHostPort())
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func healthText(h *orchpb.HealthCheck) string {
	if h == nil {
		return "-"
	}
	var check string
	switch {
	case h.GetHttp() != nil:
		check = fmt.Sprintf("http GET :%d%s", h.GetHttp().GetPort(), h.GetHttp().GetPath())
	case h.GetTcp() != nil:
		check = fmt.Sprintf("tcp :%d", h.GetTcp().GetPort())
	case h.GetExec() != nil:
		check = "exec " + strings.Join(h.GetExec().GetCommand(), " ")
	}
	return fmt.Sprintf("%s every %s, timeout %s, %d retries, start period %s", check,
		orchpb.FormatDuration(h.IntervalOrDefault()), orchpb.FormatDuration(h.TimeoutOrDefault()), h.GetRetries(), orchpb.FormatDuration(h.StartPeriodOrDefault()))
}
