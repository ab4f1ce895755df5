package store

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The transcripts in testdata/*.txt are sequences of blocks:
//
//	apply [INDEX]          (INDEX defaults to the previous one + 1)
//	{ one orchpb.Command in protojson, may span lines }
//	----
//	the result and the events the command emitted
//
//	dump
//	----
//	the whole state
//
// A block ends at a blank line; lines starting with # between blocks are
// comments. `go test -run TestTranscripts -rewrite` rewrites the expected
// parts from what the store does now: review the diff before keeping it.
var rewrite = flag.Bool("rewrite", false, "rewrite testdata transcripts with the actual output")

type block struct {
	line      int
	comments  []string
	directive string
	input     []string
	want      []string
}

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runTranscript(t, file) })
	}
}

func runTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseTranscript(string(data))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	s := New()
	var index uint64
	for i := range blocks {
		b := &blocks[i]
		got, err := runBlock(s, &index, b)
		if err != nil {
			t.Fatalf("%s:%d: %v", file, b.line, err)
		}
		if *rewrite {
			b.want = got
			continue
		}
		if strings.Join(got, "\n") != strings.Join(b.want, "\n") {
			t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", file, b.line, b.directive,
				strings.Join(got, "\n"), strings.Join(b.want, "\n"))
		}
	}
	// Every transcript's final state must survive a snapshot round trip.
	assertRoundTrip(t, s)
	if *rewrite {
		if err := os.WriteFile(file, []byte(formatTranscript(blocks)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func parseTranscript(text string) ([]block, error) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var blocks []block
	var comments []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			if strings.HasPrefix(line, "#") {
				comments = append(comments, line)
			}
			continue
		}
		b := block{line: i + 1, comments: comments, directive: line}
		comments = nil
		i++
		for ; i < len(lines) && lines[i] != "----"; i++ {
			b.input = append(b.input, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: block without ----", b.line)
		}
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			b.want = append(b.want, lines[i])
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

func formatTranscript(blocks []block) string {
	var sb strings.Builder
	for i, b := range blocks {
		if i > 0 {
			sb.WriteString("\n")
		}
		for _, c := range b.comments {
			sb.WriteString(c + "\n")
		}
		sb.WriteString(b.directive + "\n")
		for _, l := range b.input {
			sb.WriteString(l + "\n")
		}
		sb.WriteString("----\n")
		for _, l := range b.want {
			sb.WriteString(l + "\n")
		}
	}
	return sb.String()
}

func runBlock(s *Store, index *uint64, b *block) ([]string, error) {
	fields := strings.Fields(b.directive)
	switch fields[0] {
	case "apply":
		*index++
		if len(fields) > 1 {
			v, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("apply: bad index %q", fields[1])
			}
			*index = v
		}
		cmd := &orchpb.Command{}
		if err := protojson.Unmarshal([]byte(strings.Join(b.input, "\n")), cmd); err != nil {
			return nil, fmt.Errorf("apply: %w", err)
		}
		start, eventsSince := collectEvents(s)
		res := s.Apply(*index, cmd)
		events := eventsSince(start)
		out := []string{resultLine(res)}
		for _, id := range sortedKeys(res.GetRejected()) {
			out = append(out, "rejected "+id+": "+res.Rejected[id])
		}
		if res.GetNode() != nil {
			out = append(out, "result "+summary(res.Node))
		}
		for _, e := range events {
			out = append(out, e.Type+" "+summary(e.Object))
		}
		return out, nil
	case "dump":
		return dump(s), nil
	}
	return nil, fmt.Errorf("unknown directive %q", b.directive)
}

// collectEvents reads the events of the next Apply straight from the ring.
func collectEvents(s *Store) (uint64, func(uint64) []Event) {
	s.mu.RLock()
	start := s.ring.next
	s.mu.RUnlock()
	return start, func(from uint64) []Event {
		s.mu.RLock()
		defer s.mu.RUnlock()
		var out []Event
		for q := from; q < s.ring.next; q++ {
			out = append(out, s.ring.buf[q%uint64(len(s.ring.buf))])
		}
		return out
	}
}

func resultLine(res *orchpb.CommandResult) string {
	if res.ErrorCode == "" {
		return fmt.Sprintf("ok index=%d", res.Index)
	}
	return fmt.Sprintf("%s index=%d: %s", res.ErrorCode, res.Index, res.Error)
}

func dump(s *Store) []string {
	out := []string{fmt.Sprintf("index=%d", s.Index())}
	if c := s.Config(); c != nil {
		out = append(out, fmt.Sprintf("config cidr=%s id=%s", c.ClusterCidr, c.ClusterId))
	}
	for _, v := range s.Services("") {
		out = append(out, summary(v))
	}
	for _, v := range s.Replicas(ReplicaFilter{}) {
		out = append(out, summary(v))
	}
	for _, v := range s.Nodes() {
		out = append(out, summary(v))
	}
	for _, v := range s.Images() {
		out = append(out, summary(v))
	}
	return out
}

// summary is a one-line, stable rendering of a stored object.
func summary(m proto.Message) string {
	var f fields
	switch o := m.(type) {
	case *orchpb.Service:
		f = serviceFields(o)
	case *orchpb.Replica:
		f = replicaFields(o)
	case *orchpb.Node:
		f = nodeFields(o)
	case *orchpb.Image:
		f = append(f, "image", o.Name)
		f.add("digest", o.Digest)
		f.add("size", o.Size)
		f.add("v", o.Version)
	default:
		f = append(f, fmt.Sprintf("%T", m))
	}
	return strings.Join(f, " ")
}

// fields are the words of a summary.
type fields []string

// add appends k=v unless v is zero.
func (f *fields) add(k string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case int32:
		if x == 0 {
			return
		}
	case int64:
		if x == 0 {
			return
		}
	case uint64:
		if x == 0 {
			return
		}
	}
	*f = append(*f, fmt.Sprintf("%s=%v", k, v))
}

func serviceFields(o *orchpb.Service) fields {
	var f fields
	f = append(f, "service", o.Spec.GetNamespace()+"/"+o.Spec.GetName())
	f.add("v", o.Version)
	f.add("gen", o.Generation)
	f.add("created", o.CreateIndex)
	if o.Spec.Replicas != nil {
		f = append(f, fmt.Sprintf("replicas=%d", o.Spec.GetReplicas()))
	}
	f.add("image", o.Spec.GetImage())
	if o.PreviousSpec != nil {
		f = append(f, "prev.image="+o.PreviousSpec.GetImage())
	}
	if u := o.Update; u != nil {
		f = append(f, fmt.Sprintf("update=%s/gen%d", u.State, u.Generation))
		f.add("update.from", u.FromGeneration)
		if u.Rollback {
			f = append(f, "update.rollback")
		}
		f.add("update.started", u.StartedIndex)
		f.add("update.finished", u.FinishedIndex)
		if u.Message != "" {
			f = append(f, strconv.Quote(u.Message))
		}
	}
	return f
}

func replicaFields(o *orchpb.Replica) fields {
	var f fields
	f = append(f, "replica", o.Id, o.Namespace+"/"+o.DisplayName())
	f.add("node", o.Node)
	f.add("desired", o.DesiredState)
	f.add("state", o.State)
	f.add("gen", o.Generation)
	f.add("v", o.Version)
	f.add("created", o.CreateIndex)
	f.add("cpu", o.GetResources().GetCpuMillis())
	f.add("mem", o.GetResources().GetMemoryBytes())
	if len(o.HostPorts) > 0 {
		f = append(f, fmt.Sprintf("ports=%v", o.HostPorts))
	}
	f.add("ip", o.Ip)
	f.add("restarts", o.Restarts)
	f.add("exit", o.ExitCode)
	if o.Message != "" {
		f = append(f, strconv.Quote(o.Message))
	}
	return f
}

func nodeFields(o *orchpb.Node) fields {
	var f fields
	f = append(f, "node", o.Id)
	f.add("name", o.Name)
	f.add("state", o.State)
	f.add("admin", o.AdminState)
	f.add("subnet", o.Subnet)
	f.add("addr", o.Address)
	f.add("cap", fmt.Sprintf("%d/%d", o.GetCapacity().GetCpuMillis(), o.GetCapacity().GetMemoryBytes()))
	f.add("alloc", fmt.Sprintf("%d/%d", o.GetAllocated().GetCpuMillis(), o.GetAllocated().GetMemoryBytes()))
	f.add("v", o.Version)
	f.add("created", o.CreateIndex)
	if len(o.Labels) > 0 {
		keys := sortedKeys(o.Labels)
		for i, k := range keys {
			keys[i] = k + "=" + o.Labels[k]
		}
		sort.Strings(keys)
		f = append(f, "labels="+strings.Join(keys, ","))
	}
	return f
}
