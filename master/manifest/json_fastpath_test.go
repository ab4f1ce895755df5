package manifest

import (
	"errors"
	"testing"
)

func TestJSONDocumentsKeepTheStrictRules(t *testing.T) {
	cases := []struct{ doc, field string }{
		{`{"kind":"Service","name":"a","name":"b","image":"x"}`, "name"},
		{`{"kind":"Service","name":"a","image":"x","env":{"A":"1","A":"2"}}`, "env.A"},
		{`{"kind":"Service","name":"a","image":"x","ports":[{"port":80,"port":81}]}`, "ports[0].port"},
		{`{"kind":"Service","name":"a","image":"x","colour":"red"}`, "colour"},
		{`{"kind":"Service","name":"a","image":"x","replicas":"3"}`, "replicas"},
	}
	for _, c := range cases {
		_, err := ParseOne([]byte(c.doc))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("ParseOne(%s) = %v, want an error naming %q", c.doc, err, c.field)
		}
	}
	spec, err := ParseOne([]byte(` {"kind":"Service","name":"a","image":"x","replicas":2,"env":{"PORT":8080}} `))
	if err != nil {
		t.Fatal(err)
	}
	if spec.GetReplicas() != 2 || spec.GetEnv()["PORT"] != "8080" || spec.GetNamespace() != "default" {
		t.Errorf("parsed %v", spec)
	}
}
