package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func TestVolumesParse(t *testing.T) {
	for _, doc := range []string{
		"name: db\nimage: orch.local/hello:1\nvolumes:\n  - {name: data, mountPath: /data}\n  - {name: cache, mountPath: /cache, type: scratch}\n",
		`{"name": "db", "image": "orch.local/hello:1", "volumes": [{"name": "data", "mountPath": "/data"}, {"name": "cache", "mountPath": "/cache", "type": "scratch"}]}`,
	} {
		spec, err := ParseOne([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		vs := spec.GetVolumes()
		if len(vs) != 2 || vs[0].GetName() != "data" || vs[0].GetMountPath() != "/data" || vs[1].GetMountPath() != "/cache" {
			t.Fatalf("%s: volumes %v", doc, vs)
		}
		// The default type is written in, so the stored spec says it.
		if vs[0].GetType() != orchpb.VolumePersistent || vs[1].GetType() != orchpb.VolumeScratch {
			t.Fatalf("%s: types %q %q", doc, vs[0].GetType(), vs[1].GetType())
		}
		if got := spec.PersistentVolumes(); len(got) != 1 || got[0] != "data" {
			t.Fatalf("persistent volumes %v", got)
		}
	}
}

func TestVolumesErrors(t *testing.T) {
	const head = "name: db\nimage: orch.local/hello:1\n"
	for _, c := range []struct{ doc, field string }{
		{head + "volumes: [{mountPath: /data}]", "volumes[0].name"},
		{head + "volumes: [{name: Data_1, mountPath: /data}]", "volumes[0].name"},
		{head + "volumes: [{name: data}]", "volumes[0].mountPath"},
		{head + "volumes: [{name: data, mountPath: data}]", "volumes[0].mountPath"},
		{head + "volumes: [{name: data, mountPath: /proc/x}]", "volumes[0].mountPath"},
		{head + "volumes: [{name: data, mountPath: /data, type: nfs}]", "volumes[0].type"},
		{head + "volumes: [{name: data, mountPath: /a}, {name: data, mountPath: /b}]", "volumes[1].name"},
		{head + "volumes: [{name: data, mountPath: /a}, {name: logs, mountPath: /a}]", "volumes[1].mountPath"},
		{head + "secrets: [{name: s, mountPath: /a}]\nvolumes: [{name: data, mountPath: /a}]", "volumes[0].mountPath"},
		{head + "volumes: [{name: data, mountPath: /a, size: 1Gi}]", "volumes[0].size"},
	} {
		_, err := ParseOne([]byte(c.doc))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%q: got %v, want an error on %s", c.doc, err, c.field)
		}
	}
}

// TestExamplesParse: every manifest in examples/ is valid.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseAll(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
