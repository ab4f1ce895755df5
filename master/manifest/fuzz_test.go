package manifest

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzParse checks that Parse never panics and that whatever it accepts is
// stable: valid, already defaulted, and re-accepted unchanged in the JSON
// form the API serves. The seed corpus is testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(contractExample))
	f.Add([]byte(minimal))
	f.Add([]byte(podExample))
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := Parse(data)
		if err != nil {
			if specs != nil {
				t.Fatalf("Parse returned specs with error %v", err)
			}
			return
		}
		for _, spec := range specs {
			if err := Validate(spec); err != nil {
				t.Fatalf("accepted spec does not validate: %v\n%v", err, spec)
			}
			again := proto.Clone(spec).(*orchpb.ServiceSpec)
			Default(again)
			if !proto.Equal(again, spec) {
				t.Fatalf("Default changed an accepted spec:\n%v\n%v", spec, again)
			}
			js, err := protojson.Marshal(spec)
			if err != nil {
				t.Fatalf("protojson.Marshal: %v", err)
			}
			back, err := ParseOne(js)
			if err != nil {
				t.Fatalf("ParseOne(%s) of an accepted spec: %v", js, err)
			}
			if !proto.Equal(back, spec) {
				t.Fatalf("JSON round trip changed the spec:\n%v\n%v", spec, back)
			}
		}
	})
}
