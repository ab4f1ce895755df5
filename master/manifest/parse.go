package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/orch-io/orch/api"
	orchpb "github.com/orch-io/orch/proto"
	"sigs.k8s.io/yaml"
)

// ErrEmpty is returned for input that holds no document at all.
var ErrEmpty = errors.New("manifest: no documents")

// Parse reads one or more YAML or JSON documents separated by "---" lines,
// skipping empty ones, and returns their specs decoded, defaulted and
// validated. Every document must say kind: Service or kind: Job. An error in a document
// after the first is prefixed with "document N (line L): " so that the user
// can find it; field errors stay reachable with errors.As.
func Parse(data []byte) ([]*orchpb.ServiceSpec, error) {
	var specs []*orchpb.ServiceSpec
	seen := map[string]int{}
	for _, d := range splitDocuments(data) {
		n := len(specs) + 1
		spec, err := parseDocument(d.text, true)
		if err == nil && spec != nil {
			id := spec.Namespace + "/" + spec.Name
			if first, dup := seen[id]; dup {
				err = &FieldError{Field: "name", Message: fmt.Sprintf("service %s is already in document %d", id, first)}
			}
			seen[id] = n
		}
		if err != nil {
			if n > 1 {
				err = fmt.Errorf("document %d (line %d): %w", n, d.line, err)
			}
			return nil, err
		}
		if spec != nil {
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 {
		return nil, ErrEmpty
	}
	return specs, nil
}

// ParseOne reads exactly one document, as the body of an API request. Unlike
// Parse it lets kind default to Service, since the URL already says what the
// body is.
func ParseOne(data []byte) (*orchpb.ServiceSpec, error) {
	if js, ok := jsonObject(bytes.TrimPrefix(data, utf8BOM)); ok {
		// What the API receives. A document marker line cannot occur in
		// JSON text (no token starts with "--" or "."), so this is the one
		// document splitDocuments would find.
		return parseJSON(js, false)
	}
	var spec *orchpb.ServiceSpec
	for _, d := range splitDocuments(data) {
		s, err := parseDocument(d.text, false)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		if spec != nil {
			return nil, fmt.Errorf("manifest: want one document, found another at line %d", d.line)
		}
		spec = s
	}
	if spec == nil {
		return nil, ErrEmpty
	}
	return spec, nil
}

// parseDocument decodes, defaults and validates one document; an empty
// document gives (nil, nil).
func parseDocument(doc []byte, requireKind bool) (*orchpb.ServiceSpec, error) {
	// A JSON document (what the API usually receives) skips the YAML
	// parser, which costs more than all the rest of the parse.
	if js, ok := jsonObject(doc); ok {
		return parseJSON(js, requireKind)
	}
	// Strict: a key written twice is a mistake, and the last one winning
	// silently is how it goes unnoticed.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return parseJSON(js, requireKind)
}

// parseJSON is parseDocument once the document is JSON.
func parseJSON(js []byte, requireKind bool) (*orchpb.ServiceSpec, error) {
	v, err := decodeJSON(js)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &FieldError{Message: "a manifest must be a mapping (kind: Service, name: ..., image: ...)"}
	}
	// The kind decides which schema applies, so it is checked alone first:
	// a Deployment would otherwise read as a list of unknown fields.
	switch kind, found := obj["kind"]; {
	case !found && requireKind:
		return nil, &FieldError{Field: "kind", Message: "required (kind: Service)"}
	case found && kind != orchpb.KindService && kind != orchpb.KindJob:
		return nil, &FieldError{Field: "kind", Message: fmt.Sprintf("must be %s or %s, not %s", orchpb.KindService, orchpb.KindJob, jsonText(kind))}
	}

	// A service as the API shows it is its spec plus what the cluster made
	// of it; that part is not the user's to write, and reads as nothing.
	for _, k := range api.ServiceStateKeys {
		delete(obj, k)
	}
	var errs errorList
	norm := checkSchema(&errs, "", specDescriptor, obj)
	if !errs.ok() {
		return nil, errs.err()
	}
	spec, err := buildSpec(norm)
	if err != nil {
		return nil, err
	}
	Default(spec)
	if err := Validate(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

type document struct {
	text []byte
	line int // 1-based line of the document's first line in the input
}

// splitDocuments cuts the input at YAML document markers: a line "---"
// (possibly followed by a comment or by the document's first content) or a
// line "...". It does not parse YAML, so a block scalar holding such a line
// would be cut too; YAML itself forbids that inside a document.
func splitDocuments(data []byte) []document {
	data = bytes.TrimPrefix(data, utf8BOM)
	var docs []document
	var cur []byte
	start := 1
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, line := range lines {
		trimmed := strings.TrimRight(string(line), " \t\r\n")
		rest, marker := "", false
		switch {
		case trimmed == "---" || trimmed == "...":
			marker = true
		case strings.HasPrefix(trimmed, "--- ") || strings.HasPrefix(trimmed, "---\t"):
			marker, rest = true, strings.TrimLeft(trimmed[3:], " \t")
		}
		if !marker {
			cur = append(cur, line...)
			continue
		}
		docs = append(docs, document{text: cur, line: start})
		cur = nil
		if rest != "" && !strings.HasPrefix(rest, "#") {
			// "--- {kind: Service, ...}": the content starts on the marker
			// line; keep its line number.
			cur, start = append([]byte(rest), '\n'), i+1
		} else {
			start = i + 2
		}
	}
	return append(docs, document{text: cur, line: start})
}
