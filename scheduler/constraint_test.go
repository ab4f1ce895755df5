package scheduler

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func TestParseConstraint(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		want    Constraint
		wantErr bool
	}{
		{expr: "zone == a", want: Constraint{Key: "zone", Equal: true, Value: "a"}},
		{expr: "disk!=hdd", want: Constraint{Key: "disk", Value: "hdd"}},
		{expr: " node.name ==  n1 ", want: Constraint{Key: "node.name", Equal: true, Value: "n1"}},
		{expr: "zone = a", wantErr: true},
		{expr: "zone ==", wantErr: true},
		{expr: "== a", wantErr: true},
		{expr: "my zone == a", wantErr: true},
		{expr: "zone == a == b", wantErr: true},
	} {
		got, err := ParseConstraint(tc.expr)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseConstraint(%q) = %+v, %v; want %+v, error %v", tc.expr, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestConstraintMatches(t *testing.T) {
	n := &orchpb.Node{Id: "id-1", Name: "n1", Labels: map[string]string{"zone": "a"}}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"zone == a", true},
		{"zone == b", false},
		{"zone != a", false},
		{"zone != b", true},
		{"disk == ssd", false}, // missing label fails ==
		{"disk != ssd", true},  // and passes !=
		{"node.name == n1", true},
		{"node.name != n1", false},
		{"node.id == id-1", true},
		{"node.id == n1", false},
	} {
		c, err := ParseConstraint(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Matches(n); got != tc.want {
			t.Errorf("%q matches = %v, want %v", tc.expr, got, tc.want)
		}
		if got := refConstraint(n, tc.expr); got != tc.want {
			t.Errorf("reference model: %q matches = %v, want %v", tc.expr, got, tc.want)
		}
	}
}
