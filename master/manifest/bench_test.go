package manifest

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

// harnessJSON is the body the control-plane benchmark PUTs: the API's
// common case.
const harnessJSON = `{"kind":"Service","name":"svc-0042","replicas":0,"image":"orch.local/hello:1","env":{"VALUE":"v-123456"}}`

// fullJSON is the contract example as an API client sends it: every section
// present, as orchctl apply writes it.
const fullJSON = `{"kind":"Service","name":"hello","namespace":"default","replicas":3,"mode":"replicated",` +
	`"image":"orch.local/hello:1","command":["/hello"],"args":["--port=8080"],"env":{"GREETING":"hi"},` +
	`"ports":[{"name":"http","port":8080,"protocol":"tcp","hostPort":0}],"resources":{"cpu":"100m","memory":"32Mi"},` +
	`"health":{"http":{"path":"/healthz","port":8080},"interval":"1s","timeout":"500ms","retries":3,"startPeriod":"2s"},` +
	`"restart":{"policy":"always","backoffInitial":"1s","backoffMax":"60s"},` +
	`"placement":{"constraints":["zone == a","disk != hdd"],"spreadBy":"zone","strategy":"spread","maxPerNode":0},` +
	`"update":{"maxSurge":1,"maxUnavailable":0,"minHealthy":"5s","deadline":"2m","onFailure":"rollback"},` +
	`"stopGracePeriod":"10s","labels":{"tier":"web"}}`

// BenchmarkParseOneJSON is the admission of an API request body: fast is
// ParseOne; standard is the same checks on the standard decoders (an
// encoding/json Token walk refusing duplicate keys, Decoder.Decode, and a
// protojson round trip to build the spec), which is what the fast path
// earns on every write (docs/json.md).
func BenchmarkParseOneJSON(b *testing.B) {
	for _, c := range []struct{ name, doc string }{{"harness", harnessJSON}, {"full", fullJSON}} {
		doc := []byte(c.doc)
		for _, impl := range []struct {
			name  string
			parse func([]byte) (*orchpb.ServiceSpec, error)
		}{{"fast", ParseOne}, {"standard", parseOneStandard}} {
			b.Run(c.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(doc)))
				for b.Loop() {
					if _, err := impl.parse(doc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// parseOneStandard is ParseOne of a JSON body on the standard decoders.
func parseOneStandard(doc []byte) (*orchpb.ServiceSpec, error) {
	v, err := decodeWithDecoder(doc)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &FieldError{Message: "a manifest must be a mapping"}
	}
	delete(obj, "kind")
	var errs errorList
	norm := checkSchema(&errs, "", specDescriptor, obj)
	if !errs.ok() {
		return nil, errs.err()
	}
	spec, err := buildSpecViaProtojson(norm)
	if err != nil {
		return nil, err
	}
	spec.Kind = orchpb.KindService
	Default(spec)
	return spec, Validate(spec)
}

// BenchmarkDecodeJSON compares the one-pass decoder with what it replaced
// (a Token walk for duplicate keys, then Decoder.Decode).
func BenchmarkDecodeJSON(b *testing.B) {
	doc := []byte(fullJSON)
	b.Run("decodeJSON", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			js, ok := jsonObject(doc)
			if !ok {
				b.Fatal("not JSON")
			}
			if _, err := decodeJSON(js); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, err := decodeWithDecoder(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
