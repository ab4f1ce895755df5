package measure

import "testing"

func TestPromValue(t *testing.T) {
	page := `# HELP orch_replicas Replicas by observed state.
# TYPE orch_replicas gauge
orch_replicas{state=""} 10
orch_replicas{state="running"} 149990
orch_replicas_total_other 7
orch_dispatcher_streams{kind="assignments"} 5000
orch_dispatcher_streams{kind="with_peers"} 0
orch_store_index 1234 1700000000000
`
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
		ok     bool
	}{
		{"orch_replicas", map[string]string{"state": "running"}, 149990, true},
		{"orch_replicas", nil, 150000, true},
		{"orch_dispatcher_streams", map[string]string{"kind": "assignments"}, 5000, true},
		{"orch_store_index", nil, 1234, true},
		{"orch_replicas", map[string]string{"state": "failed"}, 0, false},
		{"orch_nodes", nil, 0, false},
	} {
		got, ok := PromValue(page, tc.name, tc.labels)
		if got != tc.want || ok != tc.ok {
			t.Errorf("PromValue(%s, %v) = %v, %v; want %v, %v", tc.name, tc.labels, got, ok, tc.want, tc.ok)
		}
	}
}
