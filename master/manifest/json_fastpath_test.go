package manifest

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
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

func TestDecodeJSONRefusesDuplicateKeys(t *testing.T) {
	cases := []struct{ doc, field string }{
		{`{"name":"a","name":"b"}`, "name"},
		{`{ "name" : "a" ,	"name" : "b" }`, "name"},
		// Keys compare unescaped.
		{`{"name":"a","na\u006de":"b"}`, "name"},
		{`{"na\u006de":"a","name":"b"}`, "name"},
		{`{"a\"b":1,"a\u0022b":2}`, `a"b`},
		{`{"\ud83d\ude00":1,"😀":2}`, "😀"},
		{"{\"\xff\":1,\"\\ufffd\":2}", "\ufffd"}, // invalid UTF-8 reads as U+FFFD
		{`{"":1,"":2}`, ""},
		// An escaped quote inside a value does not end it early.
		{`{"x":"say \"x\":1,","x":2}`, "x"},
		{`{"x":"\\","x":2}`, "x"},
		// Nesting.
		{`{"resources":{"cpu":"1","memory":"1","memory":"2"}}`, "resources.memory"},
		{`{"ports":[{"name":"x"},{"port":1,"name":"y","name":"z"}]}`, "ports[1].name"},
		{`{"a":[[1],[{"k":1,"k":2}]]}`, "a[1][0].k"},
		{`{"env":{"A":"1","A":"2"}}`, "env.A"},
		{`{"":{"x":1,"x":2}}`, "x"},
		{`{"a":{"":{"x":1,"x":2}}}`, "a..x"},
		// The first duplicate in document order wins.
		{`{"a":{"x":1,"x":2},"a":3}`, "a.x"},
		{`{"a":1,"b":{"c":1,"c":2},"a":2}`, "b.c"},
	}
	for _, c := range cases {
		_, err := decodeJSON([]byte(c.doc))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Message != "given twice" {
			t.Errorf("decodeJSON(%s) = %v, want %q given twice", c.doc, err, c.field)
		}
		if _, oracle := decodeWithDecoder([]byte(c.doc)); oracle == nil || oracle.Error() != err.Error() {
			t.Errorf("decodeJSON(%s) = %v, the Decoder walk says %v", c.doc, err, oracle)
		}
	}
}

func TestDecodeJSONMatchesDecoder(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `null`, `true`, `-0.5e+3`, `"x"`, ` {"a" : [ ] , "b":{ } } `,
		`{"e\u0301":1,"é":2,"a":1,"A":2}`, // distinct keys
		`{"s":"\u00e9\n\t\/\\\"","n":[0,-1,1.5,1e400,12345678901234567890],"b":[true,false,null]}`,
		"{\"bad\":\"\xff\xfe\",\"sur\":\"\\ud800\"}",
		fullJSON,
	} {
		got, err := decodeJSON([]byte(doc))
		if err != nil {
			t.Errorf("decodeJSON(%s): %v", doc, err)
			continue
		}
		want, err := decodeWithDecoder([]byte(doc))
		if err != nil {
			t.Fatalf("Decoder(%s): %v", doc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decodeJSON(%s) = %#v\nDecoder gives %#v", doc, got, want)
		}
	}
}

// FuzzDecodeJSON holds decodeJSON to the Decoder walk it replaced on valid
// JSON, and to not panicking on anything else.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		fullJSON, harnessJSON, `{"a":{"b":1,"\u0062":2}}`, `{"x":[{"y":"\"","y":1}]}`,
		`{"\ud83d\ude00":1,"😀":2}`, `[1,{"a":null}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeJSON(data)
		if !json.Valid(data) {
			return
		}
		want, oracleErr := decodeWithDecoder(data)
		var fe, oracleFE *FieldError
		switch {
		case errors.As(oracleErr, &oracleFE):
			if !errors.As(err, &fe) || *fe != *oracleFE {
				t.Fatalf("decodeJSON(%q) = %v, want %v", data, err, oracleErr)
			}
		case oracleErr != nil:
			t.Skipf("the Decoder refuses valid JSON %q: %v", data, oracleErr) // nesting depth
		case err != nil:
			t.Fatalf("decodeJSON(%q): %v", data, err)
		case !reflect.DeepEqual(got, want):
			t.Fatalf("decodeJSON(%q) = %#v\nDecoder gives %#v", data, got, want)
		}
	})
}

func TestDecodeJSONDepth(t *testing.T) {
	nested := func(n int) []byte {
		return []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	if _, err := decodeJSON(nested(10000)); err != nil {
		t.Errorf("decodeJSON of 10000 nested lists (valid JSON): %v", err)
	}
	if _, err := decodeJSON(nested(100000)); !errors.Is(err, errMalformedJSON) {
		t.Errorf("decodeJSON of 100000 nested lists = %v, want errMalformedJSON", err)
	}
	if !json.Valid(nested(10000)) || json.Valid(nested(10001)) {
		t.Error("encoding/json's nesting limit is no longer 10000")
	}
}
