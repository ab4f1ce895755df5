package manifest

import (
	"errors"
	"strings"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// contractExample is the example manifest of docs/manifest.md, verbatim.
const contractExample = `kind: Service
name: hello                  # DNS label: [a-z0-9-], at most 63
namespace: default           # optional, default "default"
replicas: 3                  # ignored when mode: global
mode: replicated             # replicated | global (one replica on every eligible node)
image: orch.local/hello:1
command: ["/hello"]          # optional, overrides the image entrypoint
args: ["--port=8080"]
env: {GREETING: hi}
ports:
  - {name: http, port: 8080, protocol: tcp, hostPort: 0}   # hostPort > 0 publishes on the node
resources: {cpu: 100m, memory: 32Mi}                       # requests, enforced as limits
health:
  http: {path: /healthz, port: 8080}   # or tcp: {port: 8080}, or exec: {command: [...]}
  interval: 1s
  timeout: 500ms
  retries: 3                 # consecutive failures before the replica is unhealthy
  startPeriod: 2s
restart: {policy: always, backoffInitial: 1s, backoffMax: 60s}   # always | on-failure | never
placement:
  constraints: ["zone == a", "disk != hdd"]   # on node labels; also node.name, node.id
  spreadBy: zone             # node label to spread replicas across
  strategy: spread           # spread | binpack
  maxPerNode: 0              # 0 = no limit
update:
  maxSurge: 1
  maxUnavailable: 0
  minHealthy: 5s             # a new replica must stay healthy this long to count
  deadline: 2m               # per replica; past it the update has failed
  onFailure: rollback        # rollback | pause
stopGracePeriod: 10s
labels: {tier: web}
`

const minimal = "kind: Service\nname: web\nimage: nginx:1.27\n"

func TestParseContractExample(t *testing.T) {
	specs, err := Parse([]byte(contractExample))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(specs) != 1 {
		t.Fatalf("got %d specs, want 1", len(specs))
	}
	want := &orchpb.ServiceSpec{
		Kind: "Service", Name: "hello", Namespace: "default", Replicas: proto.Int32(3),
		Mode: "replicated", Image: "orch.local/hello:1",
		Command: []string{"/hello"}, Args: []string{"--port=8080"},
		Env:       map[string]string{"GREETING": "hi"},
		Ports:     []*orchpb.Port{{Name: "http", Port: 8080, Protocol: "tcp"}},
		Resources: &orchpb.Resources{Cpu: "100m", Memory: "32Mi", Pids: 1024},
		Health: &orchpb.HealthCheck{
			Http:     &orchpb.HTTPCheck{Path: "/healthz", Port: 8080},
			Interval: durationpb.New(time.Second), Timeout: durationpb.New(500 * time.Millisecond), Retries: 3, StartPeriod: durationpb.New(2 * time.Second),
		},
		Restart: &orchpb.RestartPolicy{Policy: "always", BackoffInitial: durationpb.New(time.Second), BackoffMax: durationpb.New(time.Minute)},
		Placement: &orchpb.Placement{
			Constraints: []string{"zone == a", "disk != hdd"}, SpreadBy: "zone", Strategy: "spread",
		},
		Update: &orchpb.UpdatePolicy{
			MaxSurge: proto.Int32(1), MaxUnavailable: proto.Int32(0),
			MinHealthy: durationpb.New(5 * time.Second), Deadline: durationpb.New(2 * time.Minute), OnFailure: "rollback",
		},
		StopGracePeriod: durationpb.New(10 * time.Second),
		Labels:          map[string]string{"tier": "web"},
	}
	if !proto.Equal(specs[0], want) {
		t.Errorf("got  %v\nwant %v", specs[0], want)
	}
	if r := Requests(specs[0]); r.CpuMillis != 100 || r.MemoryBytes != 32<<20 {
		t.Errorf("Requests = %v, want 100m and 32Mi", r)
	}
}

func TestParseDefaults(t *testing.T) {
	specs, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := &orchpb.ServiceSpec{
		Kind: "Service", Name: "web", Namespace: "default", Replicas: proto.Int32(1),
		Mode: "replicated", Image: "nginx:1.27",
		Resources: &orchpb.Resources{Pids: 1024},
		Restart:   &orchpb.RestartPolicy{Policy: "always", BackoffInitial: durationpb.New(time.Second), BackoffMax: durationpb.New(time.Minute)},
		Placement: &orchpb.Placement{Strategy: "spread"},
		Update: &orchpb.UpdatePolicy{
			MaxSurge: proto.Int32(1), MaxUnavailable: proto.Int32(0),
			MinHealthy: durationpb.New(0), Deadline: durationpb.New(2 * time.Minute), OnFailure: "pause",
		},
		StopGracePeriod: durationpb.New(10 * time.Second),
	}
	if !proto.Equal(specs[0], want) {
		t.Errorf("got  %v\nwant %v", specs[0], want)
	}
	again := proto.Clone(specs[0]).(*orchpb.ServiceSpec)
	Default(again)
	if !proto.Equal(again, specs[0]) {
		t.Errorf("Default is not idempotent:\n%v\n%v", again, specs[0])
	}
}

func TestParseHealthDefaults(t *testing.T) {
	spec, err := ParseOne([]byte(minimal + "ports: [{port: 53, protocol: udp}, {port: 8080}]\nhealth: {http: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &orchpb.HealthCheck{
		Http:     &orchpb.HTTPCheck{Path: "/", Port: 8080},
		Interval: durationpb.New(time.Second), Timeout: durationpb.New(time.Second), Retries: 3, StartPeriod: durationpb.New(0),
	}
	if !proto.Equal(spec.Health, want) {
		t.Errorf("health = %v, want %v", spec.Health, want)
	}
	if spec.Ports[1].Protocol != "tcp" {
		t.Errorf("ports[1].protocol = %q, want tcp", spec.Ports[1].Protocol)
	}
}

func TestParseGlobalLeavesReplicasUnset(t *testing.T) {
	spec, err := ParseOne([]byte(minimal + "mode: global\n"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Replicas != nil {
		t.Errorf("replicas = %d, want unset in global mode", *spec.Replicas)
	}
}

func TestParseNumbersInStringFields(t *testing.T) {
	spec, err := ParseOne([]byte(minimal + "resources: {cpu: 0.5, memory: 1000000}\nenv: {PORT: 8080}\nlabels: {version: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Resources.Cpu != "0.5" || spec.Resources.Memory != "1000000" || spec.Env["PORT"] != "8080" || spec.Labels["version"] != "2" {
		t.Errorf("got resources %v env %v labels %v", spec.Resources, spec.Env, spec.Labels)
	}
	if r := Requests(spec); r.CpuMillis != 500 || r.MemoryBytes != 1000000 {
		t.Errorf("Requests = %v", r)
	}
}

func TestParseJSON(t *testing.T) {
	body := `{"kind":"Service","name":"api","image":"orch.local/hello:1","replicas":2,
	  "ports":[{"port":8080,"hostPort":30080}],"update":{"maxSurge":0}}`
	specs, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	s := specs[0]
	if s.Name != "api" || s.GetReplicas() != 2 || s.Ports[0].HostPort != 30080 {
		t.Errorf("got %v", s)
	}
	// maxSurge: 0 alone updates in place: one replica at a time down.
	if s.Update.GetMaxSurge() != 0 || s.Update.GetMaxUnavailable() != 1 {
		t.Errorf("update = %v, want maxSurge 0 maxUnavailable 1", s.Update)
	}
}

func TestParseOneWithoutKind(t *testing.T) {
	spec, err := ParseOne([]byte(`{"name":"api","image":"orch.local/hello:1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Kind != "Service" {
		t.Errorf("kind = %q", spec.Kind)
	}
	if _, err := Parse([]byte(`{"name":"api","image":"orch.local/hello:1"}`)); fieldOf(err) != "kind" {
		t.Errorf("Parse without kind: %v, want a kind error", err)
	}
}

func TestParseOneRejectsSeveral(t *testing.T) {
	_, err := ParseOne([]byte(minimal + "---\n" + strings.Replace(minimal, "web", "api", 1)))
	if err == nil || !strings.Contains(err.Error(), "one document") {
		t.Errorf("err = %v, want one-document error", err)
	}
}

func TestParseMultiDocument(t *testing.T) {
	in := "# two services\n---\n" + minimal + "---\n# nothing here\n---\n" +
		strings.Replace(minimal, "web", "api", 1) + "...\n"
	specs, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "web" || specs[1].Name != "api" {
		t.Fatalf("got %v", specs)
	}

	inline := "--- {kind: Service, name: a, image: a}\n--- {kind: Service, name: b, image: b}\n"
	specs, err = Parse([]byte(inline))
	if err != nil || len(specs) != 2 || specs[1].Name != "b" {
		t.Fatalf("inline documents: %v %v", specs, err)
	}
}

func TestParseMultiDocumentErrors(t *testing.T) {
	in := minimal + "---\n" + strings.Replace(minimal, "web", "api", 1) + "replicas: -1\n"
	_, err := Parse([]byte(in))
	if err == nil {
		t.Fatal("want error")
	}
	if got, want := err.Error(), "document 2 (line 5): replicas: must be >= 0"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
	if fieldOf(err) != "replicas" {
		t.Errorf("errors.As field = %q", fieldOf(err))
	}

	_, err = Parse([]byte(minimal + "---\n" + minimal))
	if fieldOf(err) != "name" || !strings.Contains(err.Error(), "document 2") || !strings.Contains(err.Error(), "already in document 1") {
		t.Errorf("duplicate service: %v", err)
	}

	for _, empty := range []string{"", "\n", "---\n", "# only a comment\n---\n...\n"} {
		if _, err := Parse([]byte(empty)); !errors.Is(err, ErrEmpty) {
			t.Errorf("Parse(%q) = %v, want ErrEmpty", empty, err)
		}
	}
}

// fieldOf is the field of the first FieldError in err, or "" when none.
func fieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return "<none>"
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		field    string // the first FieldError's path
		contains string // in the message
	}{
		{"unknown top-level field", minimal + "replica: 3\n", "replica", "unknown field"},
		{"unknown nested field", minimal + "health: {http: {pathh: /x, port: 80}}\n", "health.http.pathh", "unknown field"},
		{"unknown field in a list", minimal + "ports: [{port: 80, hostport: 8080}]\n", "ports[0].hostport", "did you mean hostPort?"},
		{"snake case", minimal + "stop_grace_period: 5s\n", "stop_grace_period", "did you mean stopGracePeriod?"},
		{"wrong kind", "kind: Deployment\nname: web\nimage: x\n", "kind", "must be Service"},
		{"not a mapping", "- a\n- b\n", "", "mapping"},
		{"bad name", strings.Replace(minimal, "web", "Web_1", 1), "name", "DNS label"},
		{"long name", strings.Replace(minimal, "web", strings.Repeat("a", 64), 1), "name", "DNS label"},
		{"missing name", "kind: Service\nimage: x\n", "name", "required"},
		{"bad namespace", minimal + "namespace: -x\n", "namespace", "DNS label"},
		{"missing image", "kind: Service\nname: web\n", "image", "required"},
		{"bad image", "kind: Service\nname: web\nimage: Not An Image\n", "image", "image reference"},
		{"negative replicas", minimal + "replicas: -1\n", "replicas", "must be >= 0"},
		{"too many replicas", minimal + "replicas: 10001\n", "replicas", "at most 10000"},
		{"replicas as string", minimal + "replicas: \"3\"\n", "replicas", "must be an integer"},
		{"replicas as float", minimal + "replicas: 2.5\n", "replicas", "must be an integer"},
		{"replicas out of int32", minimal + "replicas: 9999999999\n", "replicas", "out of range"},
		{"bad mode", minimal + "mode: daemon\n", "mode", "replicated or global"},
		{"command not a list", minimal + "command: /hello\n", "command", "must be a list"},
		{"empty command", minimal + "command: [\"\"]\n", "command[0]", "must not be empty"},
		{"env value boolean", minimal + "env: {DEBUG: yes}\n", "env.DEBUG", "quote it"},
		{"env value null", minimal + "env: {DEBUG: }\n", "env.DEBUG", "must be a string"},
		{"bad env name", minimal + "env: {\"1X\": a}\n", "env.1X", "variable name"},
		{"port out of range", minimal + "ports: [{port: 80}, {port: 70000}]\n", "ports[1].port", "must be 1-65535"},
		{"port missing", minimal + "ports: [{name: http}]\n", "ports[0].port", "must be 1-65535"},
		{"bad host port", minimal + "ports: [{port: 80, hostPort: -1}]\n", "ports[0].hostPort", "0-65535"},
		{"bad protocol", minimal + "ports: [{port: 80, protocol: sctp}]\n", "ports[0].protocol", "tcp or udp"},
		{"duplicate port", minimal + "ports: [{port: 80}, {port: 80, protocol: tcp}]\n", "ports[1].port", "already ports[0]"},
		{"duplicate host port", minimal + "ports: [{port: 80, hostPort: 8080}, {port: 81, hostPort: 8080}]\n", "ports[1].hostPort", "already published"},
		{"duplicate port name", minimal + "ports: [{name: a, port: 80}, {name: a, port: 81}]\n", "ports[1].name", "already"},
		{"bad cpu", minimal + "resources: {cpu: 1core}\n", "resources.cpu", "millicores"},
		{"zero cpu", minimal + "resources: {cpu: 0m}\n", "resources.cpu", "must be > 0"},
		{"bad memory", minimal + "resources: {memory: 512m}\n", "resources.memory", "32Mi"},
		{"health without check", minimal + "health: {interval: 1s}\n", "health", "one of http, tcp or exec"},
		{"health two checks", minimal + "health: {http: {port: 80}, tcp: {port: 80}}\n", "health.tcp", "only one"},
		{"health path", minimal + "health: {http: {path: healthz, port: 80}}\n", "health.http.path", "start with '/'"},
		{"health port without ports", minimal + "health: {tcp: {}}\n", "health.tcp.port", "1-65535"},
		{"health exec empty", minimal + "health: {exec: {command: []}}\n", "health.exec.command", "must not be empty"},
		{"health bad interval", minimal + "health: {exec: {command: [x]}, interval: 0s}\n", "health.interval", "must be > 0"},
		{"health retries", minimal + "health: {exec: {command: [x]}, retries: -2}\n", "health.retries", ">= 1"},
		{"bad duration", minimal + "stopGracePeriod: 10\n", "stopGracePeriod", "not a duration"},
		{"negative duration", minimal + "stopGracePeriod: -1s\n", "stopGracePeriod", "must be >= 0"},
		{"bad restart policy", minimal + "restart: {policy: sometimes}\n", "restart.policy", "on-failure"},
		{"backoff order", minimal + "restart: {backoffInitial: 10s, backoffMax: 5s}\n", "restart.backoffInitial", "<= restart.backoffMax"},
		{"bad constraint", minimal + "placement: {constraints: [\"zone == a\", \"zone = b\"]}\n", "placement.constraints[1]", "KEY == VALUE"},
		{"bad strategy", minimal + "placement: {strategy: random}\n", "placement.strategy", "spread or binpack"},
		{"bad maxPerNode", minimal + "placement: {maxPerNode: -1}\n", "placement.maxPerNode", ">= 0"},
		{"bad spreadBy", minimal + "placement: {spreadBy: \"a b\"}\n", "placement.spreadBy", "label key"},
		{"negative maxSurge", minimal + "update: {maxSurge: -1}\n", "update.maxSurge", "must be >= 0"},
		{"negative maxUnavailable", minimal + "update: {maxUnavailable: -1}\n", "update.maxUnavailable", "must be >= 0"},
		{"surge and unavailable 0", minimal + "update: {maxSurge: 0, maxUnavailable: 0}\n", "update.maxSurge", "must be > 0"},
		{"bad deadline", minimal + "update: {deadline: 0s}\n", "update.deadline", "must be > 0"},
		{"deadline below minHealthy", minimal + "update: {minHealthy: 5m, deadline: 2m}\n", "update.deadline", "longer than update.minHealthy"},
		{"bad onFailure", minimal + "update: {onFailure: retry}\n", "update.onFailure", "rollback or pause"},
		{"bad label key", minimal + "labels: {\"-x\": a}\n", `labels.-x`, "label key"},
		{"bad label value", minimal + "labels: {tier: \"a b\"}\n", "labels.tier", "value"},
		{"update not a mapping", minimal + "update: 3\n", "update", "must be a mapping"},
		{"labels not a mapping", minimal + "labels: [a]\n", "labels", "mapping"},
		{"duplicate key", minimal + "name: other\n", "<none>", "already"},
		{"bad yaml", minimal + "ports: [\n", "<none>", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error on %s", tt.field)
			}
			if got := fieldOf(err); got != tt.field {
				t.Errorf("field = %q, want %q (err: %v)", got, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %q, want it to contain %q", err, tt.contains)
			}
			if tt.field != "<none>" && tt.field != "" && !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("err = %q, want it to start with the field path", err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse([]byte(minimal + "replicas: -1\nupdate: {maxSurge: -1}\nbogus: 1\n"))
	want := "bogus: unknown field"
	if err == nil || err.Error() != want {
		t.Errorf("schema stage: err = %v, want %q", err, want)
	}
	_, err = Parse([]byte(minimal + "replicas: -1\nupdate: {maxSurge: -1}\n"))
	want = "replicas: must be >= 0; update.maxSurge: must be >= 0"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if fieldOf(err) != "replicas" {
		t.Errorf("first field = %q, want replicas", fieldOf(err))
	}
}

func TestFieldErrorString(t *testing.T) {
	e := &FieldError{Field: "update.maxSurge", Message: "must be >= 0"}
	if e.Error() != "update.maxSurge: must be >= 0" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestValidateProtoForm(t *testing.T) {
	// The API may hand over a spec built in Go, without Default.
	spec := &orchpb.ServiceSpec{Name: "web", Image: "nginx"}
	if err := Validate(spec); err != nil {
		t.Errorf("Validate(undefaulted minimal) = %v", err)
	}
	spec.Update = &orchpb.UpdatePolicy{MaxSurge: proto.Int32(0), MaxUnavailable: proto.Int32(0)}
	if got := fieldOf(Validate(spec)); got != "update.maxSurge" {
		t.Errorf("field = %q, want update.maxSurge", got)
	}
	if got := fieldOf(Validate(nil)); got != "" {
		t.Errorf("Validate(nil) field = %q", got)
	}
}

// TestRoundTrip checks that what the API serves (protojson of a parsed
// spec) can be applied again unchanged.
func TestRoundTrip(t *testing.T) {
	specs, err := Parse([]byte(contractExample))
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(specs[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseOne(js)
	if err != nil {
		t.Fatalf("ParseOne(%s): %v", js, err)
	}
	if !proto.Equal(again, specs[0]) {
		t.Errorf("round trip changed the spec:\n%v\n%v", again, specs[0])
	}
}

// TestServiceStateIgnored: a service as the API shows it (get -o yaml) is
// a manifest; what the cluster made of it is not the user's to write.
func TestServiceStateIgnored(t *testing.T) {
	plain, err := ParseOne([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	shown, err := ParseOne([]byte(minimal + "version: 12\ngeneration: 3\ncreateIndex: 7\nstatus: {desired: 1, running: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(plain, shown) {
		t.Errorf("the state keys changed the spec:\n%v\n%v", plain, shown)
	}
}
