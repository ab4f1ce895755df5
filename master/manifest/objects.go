package manifest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
	"sigs.k8s.io/yaml"
)

// MaxDataBytes bounds the values of one secret or config: they travel in
// every assignment set of the nodes that use them, and sit on tmpfs.
const MaxDataBytes = 512 << 10

// Object is one document of a manifest: exactly one field is set.
type Object struct {
	Service *orchpb.ServiceSpec
	Secret  *api.SecretManifest
	Config  *api.ConfigManifest
}

// Kind is the document's kind, Service, Secret or Config.
func (o Object) Kind() string {
	switch {
	case o.Secret != nil:
		return api.KindSecretManifest
	case o.Config != nil:
		return api.KindConfigManifest
	}
	return orchpb.KindService
}

// Name is NAME of the document's object.
func (o Object) Name() string {
	switch {
	case o.Secret != nil:
		return o.Secret.Name
	case o.Config != nil:
		return o.Config.Name
	}
	return o.Service.GetName()
}

// ParseAll reads a manifest whose documents may be of any kind (Service,
// Secret, Config), in the order written. Like Parse, every document is
// checked and errors after the first document say which one.
func ParseAll(data []byte) ([]Object, error) {
	var out []Object
	seen := map[string]int{}
	for _, d := range splitDocuments(data) {
		n := len(out) + 1
		obj, err := parseAnyDocument(d.text)
		if err == nil && obj != nil {
			id := obj.Kind() + " " + namespaceOf(*obj) + "/" + obj.Name()
			if first, dup := seen[id]; dup {
				err = &FieldError{Field: "name", Message: fmt.Sprintf("%s is already in document %d", id, first)}
			}
			seen[id] = n
		}
		if err != nil {
			if n > 1 {
				err = fmt.Errorf("document %d (line %d): %w", n, d.line, err)
			}
			return nil, err
		}
		if obj != nil {
			out = append(out, *obj)
		}
	}
	if len(out) == 0 {
		return nil, ErrEmpty
	}
	return out, nil
}

func namespaceOf(o Object) string { return o.Namespace() }

// Namespace is the document's namespace (default when it says none).
func (o Object) Namespace() string {
	switch {
	case o.Secret != nil:
		return o.Secret.Namespace
	case o.Config != nil:
		return o.Config.Namespace
	}
	return o.Service.GetNamespace()
}

// SetNamespace moves the document's object to ns (orchctl -n).
func (o Object) SetNamespace(ns string) {
	switch {
	case o.Secret != nil:
		o.Secret.Namespace = ns
	case o.Config != nil:
		o.Config.Namespace = ns
	default:
		o.Service.Namespace = ns
	}
}

func parseAnyDocument(doc []byte) (*Object, error) {
	js, ok := jsonObject(doc)
	if !ok {
		var err error
		if js, err = yaml.YAMLToJSONStrict(doc); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	_ = json.Unmarshal(js, &head) // a bad document is the parser's to explain below
	switch head.Kind {
	case api.KindSecretManifest:
		s, err := ParseSecret(js)
		return &Object{Secret: s}, err
	case api.KindConfigManifest:
		c, err := ParseConfig(js)
		return &Object{Config: c}, err
	}
	spec, err := parseJSON(js, true)
	if spec == nil || err != nil {
		return nil, kindHint(err)
	}
	return &Object{Service: spec}, nil
}

// kindHint adds the other kinds to a "kind must be Service" error.
func kindHint(err error) error {
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == "kind" {
		return &FieldError{Field: "kind", Message: strings.Replace(fe.Message, "must be Service", "must be Service, Secret or Config", 1)}
	}
	return err
}

// ParseSecret reads one Secret document (YAML or JSON) and checks it.
func ParseSecret(doc []byte) (*api.SecretManifest, error) {
	var s api.SecretManifest
	if err := decodeStrict(doc, &s); err != nil {
		return nil, err
	}
	if s.Namespace == "" {
		s.Namespace = orchpb.DefaultNamespace
	}
	var l errorList
	checkObjectMeta(&l, s.Kind, api.KindSecretManifest, s.Name, s.Namespace)
	size := 0
	for _, k := range sortedKeys(s.Data) {
		checkDataKey(&l, key("data", k), k)
		size += len(s.Data[k])
	}
	for _, k := range sortedKeys(s.StringData) {
		checkDataKey(&l, key("stringData", k), k)
		if _, dup := s.Data[k]; dup {
			l.add(key("stringData", k), "%q is also in data; give each key once", k)
		}
		size += len(s.StringData[k])
	}
	if len(s.Data)+len(s.StringData) == 0 {
		l.add("data", "required: at least one key (data in base64, or stringData)")
	}
	if size > MaxDataBytes {
		l.add("data", "values of %d bytes; at most %d", size, MaxDataBytes)
	}
	return &s, l.err()
}

// ParseConfig reads one Config document (YAML or JSON) and checks it.
func ParseConfig(doc []byte) (*api.ConfigManifest, error) {
	var c api.ConfigManifest
	if err := decodeStrict(doc, &c); err != nil {
		return nil, err
	}
	if c.Namespace == "" {
		c.Namespace = orchpb.DefaultNamespace
	}
	var l errorList
	checkObjectMeta(&l, c.Kind, api.KindConfigManifest, c.Name, c.Namespace)
	size := 0
	for _, k := range sortedKeys(c.Data) {
		checkDataKey(&l, key("data", k), k)
		size += len(c.Data[k])
	}
	for _, k := range sortedKeys(c.BinaryData) {
		checkDataKey(&l, key("binaryData", k), k)
		if _, dup := c.Data[k]; dup {
			l.add(key("binaryData", k), "%q is also in data; give each key once", k)
		}
		size += len(c.BinaryData[k])
	}
	if len(c.Data)+len(c.BinaryData) == 0 {
		l.add("data", "required: at least one key (data as text, or binaryData in base64)")
	}
	if size > MaxDataBytes {
		l.add("data", "values of %d bytes; at most %d", size, MaxDataBytes)
	}
	return &c, l.err()
}

// decodeStrict decodes a YAML or JSON document into v, refusing unknown
// fields, with the field named in the error.
func decodeStrict(doc []byte, v any) error {
	js, ok := jsonObject(bytes.TrimPrefix(doc, utf8BOM))
	if !ok {
		var err error
		if js, err = yaml.YAMLToJSONStrict(doc); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &FieldError{Field: te.Field, Message: fmt.Sprintf("want %s", te.Type)}
		}
		var se base64.CorruptInputError
		if errors.As(err, &se) {
			return &FieldError{Field: "data", Message: "values must be base64: " + err.Error()}
		}
		if f, found := strings.CutPrefix(err.Error(), "json: unknown field "); found {
			return &FieldError{Field: strings.Trim(f, `"`), Message: "unknown field"}
		}
		return &FieldError{Message: "manifest: " + err.Error()}
	}
	return nil
}

func checkObjectMeta(l *errorList, kind, want, name, namespace string) {
	if kind != "" && kind != want {
		l.add("kind", "must be %s, not %q", want, kind)
	}
	if name == "" {
		l.add("name", "required")
	} else if msg := dnsLabelProblem(name); msg != "" {
		l.add("name", "%s", msg)
	}
	if msg := dnsLabelProblem(namespace); msg != "" {
		l.add("namespace", "%s", msg)
	}
}

// checkDataKey: a key becomes a file name, so it is one path element of
// letters, digits, '-', '_' and '.' (Kubernetes' rule).
func checkDataKey(l *errorList, field, k string) {
	ok := k != "" && k != "." && k != ".." && len(k) <= 253
	for i := 0; ok && i < len(k); i++ {
		c := k[i]
		ok = isAlnum(c) || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		l.add(field, "a key must be letters, digits, '-', '_' and '.' (a file name), not %q", k)
	}
}
