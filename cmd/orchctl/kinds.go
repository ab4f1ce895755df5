package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// view is what a table row may depend on besides the object.
type view struct {
	wide          bool
	allNamespaces bool
	nodeNames     map[string]string // node id -> name, for replica rows
	now           time.Time
}

// kind describes one resource type of `get`: how to name, order and print
// its objects.
type kind struct {
	name      string // singular, as in service/hello
	plural    string
	aliases   []string
	watchKind string
	key       func(proto.Message) string // identity across watch events
	compare   func(a, b proto.Message) int
	header    func(v view) []string
	row       func(m proto.Message, v view) []string
}

var kinds = []*kind{serviceKind, jobKind, replicaKind, nodeKind, imageKind}

// lookupKind finds a kind by any of its names (services, service, svc).
func lookupKind(s string) (*kind, error) {
	s = strings.ToLower(s)
	for _, k := range kinds {
		if s == k.name || s == k.plural || slices.Contains(k.aliases, s) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("unknown resource type %q: want services, jobs, replicas, nodes or images", s)
}

var serviceKind = &kind{
	name: "service", plural: "services", aliases: []string{"svc"}, watchKind: api.KindService,
	key: func(m proto.Message) string {
		s := m.(*orchpb.Service).GetSpec()
		return s.GetNamespace() + "/" + s.GetName()
	},
	compare: func(a, b proto.Message) int {
		x, y := a.(*orchpb.Service).GetSpec(), b.(*orchpb.Service).GetSpec()
		return cmp.Or(cmp.Compare(x.GetNamespace(), y.GetNamespace()), cmp.Compare(x.GetName(), y.GetName()))
	},
	header: func(v view) []string {
		h := []string{"NAME", "NAMESPACE", "REPLICAS", "IMAGE", "VERSION"}
		if v.wide {
			h = append(h, "MODE", "GENERATION", "HEALTHY", "UPDATE", "MESSAGE")
		}
		return h
	},
	row: func(m proto.Message, v view) []string {
		s := m.(*orchpb.Service)
		spec, st := s.GetSpec(), s.GetStatus()
		desired := st.GetDesired()
		if desired == 0 && spec.GetMode() != orchpb.ModeGlobal {
			// Before the controller has counted, the spec is the best guess.
			desired = spec.GetReplicas()
		}
		r := []string{
			spec.GetName(), spec.GetNamespace(),
			fmt.Sprintf("%d/%d", st.GetRunning(), desired),
			spec.GetImage(), u64(s.GetVersion()),
		}
		if v.wide {
			update := st.GetLastUpdateResult()
			if st.GetUpdating() {
				update = "updating"
			}
			r = append(r, spec.GetMode(), u64(s.GetGeneration()), strconv.Itoa(int(st.GetHealthy())), dash(update), st.GetMessage())
		}
		return r
	},
}

var replicaKind = &kind{
	name: "replica", plural: "replicas", aliases: []string{"rep", "reps"}, watchKind: api.KindReplica,
	key: func(m proto.Message) string { return m.(*orchpb.Replica).GetId() },
	compare: func(a, b proto.Message) int {
		return compareReplicas(a.(*orchpb.Replica), b.(*orchpb.Replica))
	},
	header: func(v view) []string {
		var h []string
		if v.allNamespaces {
			h = append(h, "NAMESPACE")
		}
		h = append(h, "NAME", "ID", "NODE", "STATE", "IP", "RESTARTS")
		if v.wide {
			h = append(h, "EXIT", "GENERATION")
		}
		return append(h, "MESSAGE")
	},
	row: func(m proto.Message, v view) []string {
		r := m.(*orchpb.Replica)
		var row []string
		if v.allNamespaces {
			row = append(row, r.GetNamespace())
		}
		node := r.GetNode()
		if name, ok := v.nodeNames[node]; ok && name != "" {
			node = name
		}
		row = append(row, r.DisplayName(), r.GetId(), dash(node), dash(replicaState(r)), dash(r.GetIp()), strconv.Itoa(int(r.GetRestarts())))
		if v.wide {
			row = append(row, strconv.Itoa(int(r.GetExitCode())), u64(r.GetGeneration()))
		}
		return append(row, r.GetMessage())
	},
}

// replicaState is the observed state, marked when the replica was told to
// stop and has not yet.
func replicaState(r *orchpb.Replica) string {
	if r.Desired() == orchpb.DesiredStopped && !r.Terminal() {
		return r.GetState() + " (stopping)"
	}
	return r.GetState()
}

func compareReplicas(x, y *orchpb.Replica) int {
	return cmp.Or(
		cmp.Compare(x.GetNamespace(), y.GetNamespace()),
		cmp.Compare(x.GetService(), y.GetService()),
		cmp.Compare(x.GetSlot(), y.GetSlot()),
		cmp.Compare(x.GetGeneration(), y.GetGeneration()),
		cmp.Compare(x.GetId(), y.GetId()))
}

var nodeKind = &kind{
	name: "node", plural: "nodes", aliases: []string{"no"}, watchKind: api.KindNode,
	key: func(m proto.Message) string { return m.(*orchpb.Node).GetId() },
	compare: func(a, b proto.Message) int {
		x, y := a.(*orchpb.Node), b.(*orchpb.Node)
		return cmp.Or(cmp.Compare(x.GetName(), y.GetName()), cmp.Compare(x.GetId(), y.GetId()))
	},
	header: func(v view) []string {
		h := []string{"NAME", "ID", "STATE", "ADDRESS", "SUBNET", "CPU", "MEMORY"}
		if v.wide {
			h = append(h, "HEARTBEAT", "AGENT", "LABELS")
		}
		return h
	},
	row: func(m proto.Message, v view) []string {
		n := m.(*orchpb.Node)
		alloc, capa := n.GetAllocated(), n.GetCapacity()
		r := []string{
			n.GetName(), n.GetId(), dash(n.GetState()), dash(n.GetAddress()), dash(n.GetSubnet()),
			formatCPU(alloc.GetCpuMillis()) + "/" + formatCPU(capa.GetCpuMillis()),
			formatBytes(alloc.GetMemoryBytes()) + "/" + formatBytes(capa.GetMemoryBytes()),
		}
		if v.wide {
			hb := "-"
			if ms := n.GetLastHeartbeat(); ms > 0 {
				hb = formatAge(v.now.Sub(time.UnixMilli(ms))) + " ago"
			}
			r = append(r, hb, dash(n.GetAgentAddress()), formatLabels(n.GetLabels()))
		}
		return r
	},
}

var imageKind = &kind{
	name: "image", plural: "images", aliases: []string{"img"}, watchKind: api.KindImage,
	key: func(m proto.Message) string { return m.(*orchpb.Image).GetName() },
	compare: func(a, b proto.Message) int {
		return cmp.Compare(a.(*orchpb.Image).GetName(), b.(*orchpb.Image).GetName())
	},
	header: func(v view) []string { return []string{"NAME", "DIGEST", "SIZE", "VERSION"} },
	row: func(m proto.Message, v view) []string {
		img := m.(*orchpb.Image)
		digest := img.GetDigest()
		if !v.wide {
			digest = shortDigest(digest)
		}
		return []string{img.GetName(), dash(digest), formatBytes(img.GetSize()), u64(img.GetVersion())}
	},
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortDigest is sha256:0123456789ab, as docker shows image ids.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if ok && len(hex) > 12 {
		return algo + ":" + hex[:12]
	}
	return d
}

// formatCPU writes millicores as a manifest would: "2" or "250m".
func formatCPU(millis int64) string {
	if millis%1000 == 0 {
		return strconv.FormatInt(millis/1000, 10)
	}
	return strconv.FormatInt(millis, 10) + "m"
}

// formatBytes writes a byte count in the binary units of manifests: "32Mi",
// "1.5Gi"; exact amounts get no decimals.
func formatBytes(n int64) string {
	units := []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10)
	}
	v := float64(n)
	unit := ""
	for _, u := range units {
		if v < 1024 && v > -1024 {
			break
		}
		v /= 1024
		unit = u
	}
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10) + unit
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + unit
}

// formatAge is kubectl's short age: 45s, 12m, 3h, 5d.
func formatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

func formatLabels(l map[string]string) string {
	if len(l) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}
