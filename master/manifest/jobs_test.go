package manifest

import (
	"strings"
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

func TestJobManifestDefaultsAndFields(t *testing.T) {
	spec, err := ParseOne([]byte("kind: Job\nname: migrate\nimage: orch.local/hello:1\ncommand: [/hello, exit, '0']\nparallelism: 2\ndeadline: 10m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.GetCompletions() != 1 || spec.GetParallelism() != 2 || spec.GetBackoffLimit() != 3 || spec.Replicas != nil ||
		spec.GetRestart().GetPolicy() != orchpb.RestartNever || spec.GetDeadline().AsDuration() != 10*time.Minute {
		t.Fatalf("job defaults: %v", spec)
	}
	cron, err := ParseOne([]byte(`{"kind":"Job","name":"nightly","image":"orch.local/hello:1","schedule":"*/5 * * * *","startingDeadline":"30s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if cron.GetConcurrencyPolicy() != orchpb.ConcurrencyForbid || cron.GetSuccessfulJobsHistoryLimit() != 3 || cron.GetFailedJobsHistoryLimit() != 1 {
		t.Fatalf("cron job defaults: %v", cron)
	}
}

func TestJobManifestErrorsNameTheField(t *testing.T) {
	for doc, want := range map[string]string{
		"kind: Service\nname: a\nimage: x:1\ncompletions: 2\n":                        "completions: only a Job has completions",
		"kind: Job\nname: a\nimage: x:1\nreplicas: 2\n":                               "replicas: a Job has completions and parallelism",
		"kind: Job\nname: a\nimage: x:1\nparallelism: 0\n":                            "parallelism: must be between 1 and",
		"kind: Job\nname: a\nimage: x:1\nbackoffLimit: -1\n":                          "backoffLimit: must be between 0 and",
		"kind: Job\nname: a\nimage: x:1\nrestart: {policy: always}\n":                 "restart.policy: a Job's runs never restart in place",
		"kind: Job\nname: a\nimage: x:1\nschedule: 'every day'\n":                     "schedule: schedule \"every day\"",
		"kind: Job\nname: a\nimage: x:1\nconcurrencyPolicy: allow\n":                  "concurrencyPolicy: only a cron job",
		"kind: Job\nname: a\nimage: x:1\nschedule: '@hourly'\nconcurrencyPolicy: x\n": "concurrencyPolicy: must be forbid, allow or replace",
		"kind: Deployment\nname: a\nimage: x:1\n":                                     "kind: must be Service or Job",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}
