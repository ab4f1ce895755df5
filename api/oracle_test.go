package api

import (
	"bytes"
	"encoding/json"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// awkwardKeys are map keys whose JSON spelling differs between encoders,
// or could trip a scanner.
var awkwardKeys = []string{
	"", "a", `q"uote`, `back\slash`, "tab\tnl\nbell\a\x7f", "<>&", "line\u2028sep\u2029", "é", "😀", " spaced , key ",
}

func oracleMessages() []proto.Message {
	versions := map[string]uint64{}
	labels := map[string]string{}
	for i, k := range awkwardKeys {
		versions[k] = uint64(i) << 60
		labels[k] = k + `", "x": 1`
	}
	svc := sampleService()
	return []proto.Message{
		&orchpb.Replica{Id: "r1", Version: 18446744073709551615, StartedAt: -9223372036854775808, HostPorts: []int32{1, 2}},
		&orchpb.Replica{},
		&orchpb.Node{Id: "n", Labels: labels, Capacity: &orchpb.ResourceAmounts{CpuMillis: 1, MemoryBytes: -1}},
		&orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{ExpectedVersions: versions}}},
		&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: svc.Spec, IfMatch: proto.Uint64(0)}}},
		&orchpb.StateSnapshot{Index: 7, Services: []*orchpb.Service{svc, {}}, Images: []*orchpb.Image{{Name: "a b", Size: 1 << 40}}},
		&orchpb.CommandResult{Index: 3, Rejected: labels},
		svc.Status, svc.Spec, &orchpb.ServiceSpec{Env: labels, Labels: labels},
		storedService(), storedService().Spec, &orchpb.Replica{Spec: storedService().Spec},
		timestamppb.New(timestamppb.Now().AsTime()),
		&structpb.Struct{Fields: map[string]*structpb.Value{"a": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNullValue(), structpb.NewStringValue(`, "`)}})}},
	}
}

func TestMarshalMatchesOldEncoder(t *testing.T) {
	for _, m := range oracleMessages() {
		checkAgainstOldEncoder(t, m)
	}
}

func checkAgainstOldEncoder(t *testing.T, m proto.Message) {
	t.Helper()
	got, err := Marshal(m)
	want, oldErr := oldMarshalWith(oldMarshalOpts, m)
	if (err == nil) != (oldErr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("Marshal(%T) =\n%s, %v\nthe old encoder gives\n%s, %v", m, got, err, want, oldErr)
	}
	if err == nil && !json.Valid(got) {
		t.Fatalf("Marshal(%T) = %s: not JSON", m, got)
	}
	if s, ok := m.(*orchpb.Service); ok {
		got, err := MarshalService(s)
		want, oldErr := oldMarshalService(s)
		if (err == nil) != (oldErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("MarshalService =\n%s, %v\nthe old encoder gives\n%s, %v", got, err, want, oldErr)
		}
		list, err := MarshalList([]*orchpb.Service{s, s})
		if oldErr == nil && (err != nil || string(list) != "["+string(want)+","+string(want)+"]") {
			t.Fatalf("MarshalList = %s, %v; want two of %s", list, err, want)
		}
	}
	if spec, ok := m.(*orchpb.ServiceSpec); ok {
		got, err := MarshalSpec(spec)
		members, oldErr := oldSpecMembers(spec)
		var want bytes.Buffer
		if oldErr == nil {
			oldWriteObject(&want, members)
		}
		if (err == nil) != (oldErr == nil) || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("MarshalSpec =\n%s, %v\nthe old encoder gives\n%s, %v", got, err, want.Bytes(), oldErr)
		}
	}
}

// FuzzMarshalMatchesOldEncoder decodes fuzz input as the binary form of a
// few message types, which gives arbitrary messages (invalid UTF-8 included),
// and holds the encoder to the old one byte for byte.
func FuzzMarshalMatchesOldEncoder(f *testing.F) {
	for _, m := range oracleMessages() {
		if b, err := proto.Marshal(m); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&orchpb.Service{}, &orchpb.Command{}, &orchpb.StateSnapshot{}, &orchpb.Node{}, &structpb.Struct{}} {
			if proto.Unmarshal(data, m) == nil {
				checkAgainstOldEncoder(t, m)
			}
		}
	})
}

// FuzzReadObjectMatchesDecoder holds readObject to the Decoder-based one it
// replaced, on valid JSON.
func FuzzReadObjectMatchesDecoder(f *testing.F) {
	f.Add([]byte(`{"a":1,"b" : {"c":[1, "x"]}, "d\"e":"\u2028"}`))
	f.Add([]byte(` {} `))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readObject(data)
		if !json.Valid(data) {
			if err == nil {
				t.Fatalf("readObject(%q) accepted invalid JSON", data)
			}
			return
		}
		want, oldErr := oldReadObject(data)
		if (err == nil) != (oldErr == nil) {
			t.Fatalf("readObject(%q): %v; the Decoder says %v", data, err, oldErr)
		}
		if len(got) != len(want) {
			t.Fatalf("readObject(%q) = %d members, want %d", data, len(got), len(want))
		}
		for i := range got {
			if got[i].key != want[i].key || !bytes.Equal(got[i].value, want[i].value) {
				t.Fatalf("readObject(%q)[%d] = %q: %s, want %q: %s", data, i, got[i].key, got[i].value, want[i].key, want[i].value)
			}
		}
	})
}

func TestAppendCompactMatchesJSONCompact(t *testing.T) {
	for _, s := range []string{
		`{}`, ` { "a" : [ 1 , 2 ] , "b\" c" : "x , y" , "\\" : null } `, "[\n\t1,\r\n2]", `"\\\" "`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := appendCompact(nil, []byte(s)); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendCompact(%s) = %s, want %s", s, got, want.Bytes())
		}
	}
}

// TestUnmarshalIgnoresSpacing feeds Unmarshal the wire form indented: the
// rewriter that turns its durations into protojson's must see through any
// space.
func TestUnmarshalIgnoresSpacing(t *testing.T) {
	for _, m := range oracleMessages() {
		b, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, b, " ", "\t"); err != nil {
			t.Fatal(err)
		}
		back := m.ProtoReflect().New().Interface()
		if err := Unmarshal(indented.Bytes(), back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", indented.Bytes(), err)
		}
		if !proto.Equal(back, m) {
			t.Errorf("Unmarshal(%s) =\n%v\nwant\n%v", indented.Bytes(), back, m)
		}
	}
}
