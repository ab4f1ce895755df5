package manifest

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	orchpb "github.com/orch-io/orch/proto"
)

const schedulingManifest = minimal + `priority: 100
placement:
  affinity: [{service: db}]
  antiAffinity: [{service: web}]
  devices: {gpu: 1}
`

func TestParseSchedulingFields(t *testing.T) {
	spec, err := ParseOne([]byte(schedulingManifest))
	if err != nil {
		t.Fatal(err)
	}
	p := spec.GetPlacement()
	if spec.Priority != 100 || len(p.Affinity) != 1 || p.Affinity[0].Service != "db" ||
		len(p.AntiAffinity) != 1 || p.AntiAffinity[0].Service != "web" || p.Devices["gpu"] != 1 {
		t.Fatalf("spec %v", spec)
	}
	// The JSON fast path agrees with protojson on the same document.
	js := `{"kind":"Service","name":"web","image":"nginx:1.27","priority":100,` +
		`"placement":{"affinity":[{"service":"db"}],"antiAffinity":[{"service":"web"}],"devices":{"gpu":1}}}`
	fast, err := ParseOne([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	oracle := &orchpb.ServiceSpec{}
	if err := protojson.Unmarshal([]byte(js), oracle); err != nil {
		t.Fatal(err)
	}
	Default(oracle)
	if !proto.Equal(fast, oracle) || !proto.Equal(fast, spec) {
		t.Errorf("fast path %v\noracle %v\nyaml %v", fast, oracle, spec)
	}
}

func TestSchedulingErrors(t *testing.T) {
	for _, tc := range []struct{ doc, field, msg string }{
		{minimal + "priority: -1\n", "priority", "between 0"},
		{minimal + "placement: {affinity: [{service: web}]}\n", "placement.affinity[0].service", "cannot require itself"},
		{minimal + "placement: {affinity: [{}]}\n", "placement.affinity[0].service", "required"},
		{minimal + "placement: {antiAffinity: [{service: Bad_Name}]}\n", "placement.antiAffinity[0].service", ""},
		{minimal + "placement: {affinity: [{service: db}], antiAffinity: [{service: db}]}\n", "placement.antiAffinity[0].service", "also in placement.affinity"},
		{minimal + "placement: {devices: {gpu: 0}}\n", "placement.devices.gpu", "between 1"},
		{minimal + "placement: {devices: {GPU: 1}}\n", "placement.devices.GPU", "lower-case"},
		{minimal + "placement: {devices: {gpu: two}}\n", "placement.devices.gpu", "integer"},
	} {
		_, err := ParseOne([]byte(tc.doc))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
			t.Errorf("%q: got %v, want %s: ...%s...", tc.doc, err, tc.field, tc.msg)
		}
	}
}
