package manifest

import (
	"encoding/json"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"
)

// checkedDocument is a document as buildSpec receives it, or false when it
// does not get that far.
func checkedDocument(data []byte) (map[string]any, bool) {
	js, ok := jsonObject(data)
	if !ok {
		var err error
		if js, err = yaml.YAMLToJSONStrict(data); err != nil {
			return nil, false
		}
	}
	v, err := decodeJSON(js)
	obj, isObj := v.(map[string]any)
	if err != nil || !isObj {
		return nil, false
	}
	var errs errorList
	norm := checkSchema(&errs, "", specDescriptor, obj)
	return norm, errs.ok()
}

func TestBuildSpecMatchesProtojson(t *testing.T) {
	for _, doc := range []string{
		fullJSON, harnessJSON, contractExample, minimal, `{}`,
		`{"replicas":-2147483648,"ports":[{"port":-1,"hostPort":2147483647},{}],"health":{"retries":-5},"placement":{"maxPerNode":-1}}`,
		`{"replicas":0,"update":{"maxSurge":0,"maxUnavailable":0},"resources":{},"health":{"http":{},"tcp":{"port":0}}}`,
		`{"command":[],"args":[""],"env":{},"labels":{"":""},"placement":{"constraints":[]}}`,
		`{"name":"\u00e9\ud83d\ude00","env":{"\u2028":"<>&","A":1.5,"B":-0}}`,
	} {
		norm, ok := checkedDocument([]byte(doc))
		if !ok {
			t.Fatalf("%s does not pass checkSchema", doc)
		}
		got, err := buildSpec(norm)
		if err != nil {
			t.Fatalf("buildSpec(%s): %v", doc, err)
		}
		norm, _ = checkedDocument([]byte(doc))
		want, err := buildSpecViaProtojson(norm)
		if err != nil {
			t.Fatalf("protojson(%s): %v", doc, err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("buildSpec(%s) =\n%v\nprotojson gives\n%v", doc, got, want)
		}
	}
}

// FuzzBuildSpec holds buildSpec to the protojson round trip it replaced.
func FuzzBuildSpec(f *testing.F) {
	for _, s := range []string{contractExample, minimal, fullJSON, harnessJSON, podExample,
		`{"name":"a","image":"x","command":[],"env":{},"health":{},"ports":[{}],"replicas":0}`,
		`{"name":"a","image":"x","env":{"\u00e9":"1","b":2},"update":{"maxSurge":0}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		norm, ok := checkedDocument(data)
		if !ok {
			return
		}
		got, err := buildSpec(norm)
		want, wantErr := buildSpecViaProtojson(norm)
		switch {
		case (err == nil) != (wantErr == nil):
			t.Fatalf("buildSpec(%q): %v; protojson: %v", data, err, wantErr)
		case err == nil && !proto.Equal(got, want):
			t.Fatalf("buildSpec(%q) =\n%v\nprotojson gives\n%v", data, got, want)
		}
	})
}

// TestSpecEncoderCoversServiceSpec fails when a field is added to a spec
// that buildSpec cannot encode: it must learn the new kind's rules first,
// held to protojson by FuzzBuildSpec.
func TestSpecEncoderCoversServiceSpec(t *testing.T) {
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] || md.FullName() == durationName {
			return
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if !supported(fd) {
				t.Errorf("%v", unsupported(fd))
				continue
			}
			if fd.IsMap() {
				fd = fd.MapValue()
			}
			if fd.Kind() == protoreflect.MessageKind {
				walk(fd.Message())
			}
		}
	}
	walk(specDescriptor)
}

func TestBuildSpecRefusesWhatItCannotEncode(t *testing.T) {
	// Struct is a well-known type with a JSON form of its own.
	md := (&structpb.Value{}).ProtoReflect().Descriptor()
	_, err := appendFields(nil, md, map[string]any{"numberValue": json.Number("1")})
	if !errors.Is(err, errUnsupported) {
		t.Fatalf("appendFields(Value.numberValue) = %v, want errUnsupported", err)
	}
}
