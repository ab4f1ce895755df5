package openapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/endpoint"
)

// Names of the shared components every operation refers to.
const (
	errorResponse = "Error"
	indexHeader   = api.HeaderIndex
)

// errorBody is the API's error answer, {"error": {...}}.
type errorBody struct {
	Error api.Error `json:"error"`
}

// sharedComponents are the parts every operation refers to: the error
// answer, the index header and the bearer scheme.
func sharedComponents(reg *registry) Components {
	return Components{
		Schemas: reg.schemas,
		Responses: map[string]*Response{errorResponse: {
			Description: "The error form, with a status that fits: 400 bad input (field names the culprit), 401 no or bad token, " +
				"403 the token's role may not call this, 404, 409 version conflict, 410 watch index compacted, " +
				"503 no leader (no_leader: nothing applied) or outcome_unknown (a write may or may not have been applied).",
			Content: map[string]MediaType{api.ContentTypeJSON: {Schema: reg.inline(errorBody{})}},
		}},
		Headers: map[string]*Header{indexHeader: {
			Description: "The Raft index the answer reflects; after a write, the index of the write.",
			Schema:      &Schema{Type: "integer", Format: "int64"},
		}},
		SecuritySchemes: map[string]SecurityScheme{securityScheme: {
			Type:   "http",
			Scheme: "bearer",
			Description: "A token from `orchctl token create --role admin|reader|agent|master` (or the admin.conf a bootstrap writes). " +
				"admin may call everything; reader only reads; agent the agent channel and image downloads; " +
				"master the master-to-master routes and what agents and readers may (masters present their TLS client certificate instead).",
		}},
	}
}

// operation describes route r, served at method and path.
func operation(reg *registry, r endpoint.Route, method, path string) (*Operation, error) {
	var errs []error
	if strings.TrimSpace(r.Summary) == "" {
		errs = append(errs, errors.New("no Summary: every route describes itself for the API reference"))
	}
	op := &Operation{
		OperationID: operationID(method, path),
		Summary:     r.Summary,
		Responses:   map[string]*Response{"default": {Ref: "#/components/responses/" + errorResponse}},
		Security:    []map[string][]string{},
		Role:        roleName(r.Role),
	}
	if r.Role != endpoint.Public {
		op.Security = append(op.Security, map[string][]string{securityScheme: {}})
	}
	params, err := parameters(r, path)
	if err != nil {
		errs = append(errs, err)
	}
	op.Parameters = params
	if len(r.In.Types) > 0 {
		op.RequestBody = &RequestBody{Description: r.In.Doc, Required: true, Content: content(reg, r.In)}
	}
	status := r.Out.Status
	if status == 0 {
		status = http.StatusOK
	}
	op.Responses[strconv.Itoa(status)] = response(reg, r.Out, status)
	if r.Out.Created {
		op.Responses[strconv.Itoa(http.StatusCreated)] = response(reg, r.Out, http.StatusCreated)
	}
	return op, errors.Join(errs...)
}

// parameters are the pattern's wildcards, then the route's query and header
// parameters, in the order declared.
func parameters(r endpoint.Route, path string) ([]*Parameter, error) {
	var errs []error
	wildcards := pathWildcards(path)
	docs := map[string]string{}
	var out []*Parameter
	for _, p := range r.Params {
		switch p.In {
		case endpoint.InPath:
			if !slices.Contains(wildcards, p.Name) {
				errs = append(errs, fmt.Errorf("path parameter %q is not in the pattern", p.Name))
			}
			docs[p.Name] = p.Doc
		case endpoint.InQuery, endpoint.InHeader:
			out = append(out, &Parameter{Name: p.Name, In: p.In, Description: p.Doc, Schema: &Schema{Type: "string"}})
		default:
			errs = append(errs, fmt.Errorf("parameter %q: In %q is not query, header or path", p.Name, p.In))
		}
	}
	all := make([]*Parameter, 0, len(wildcards)+len(out))
	for _, w := range wildcards {
		all = append(all, &Parameter{Name: w, In: endpoint.InPath, Required: true, Description: docs[w], Schema: &Schema{Type: "string"}})
	}
	return append(all, out...), errors.Join(errs...)
}

// pathWildcards are the names of the {wildcards} of a ServeMux path.
func pathWildcards(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			names = append(names, strings.TrimSuffix(strings.TrimSuffix(name, "}"), "..."))
		}
	}
	return names
}

func response(reg *registry, b endpoint.Body, status int) *Response {
	resp := &Response{Description: b.Doc}
	if resp.Description == "" {
		resp.Description = http.StatusText(status)
	}
	if status != http.StatusSwitchingProtocols {
		resp.Headers = map[string]*Header{indexHeader: {Ref: "#/components/headers/" + indexHeader}}
	}
	if len(b.Types) > 0 {
		resp.Content = content(reg, b)
	}
	return resp
}

// content is a body's media types and, when it names one, its schema: a
// list is an array in JSON and one item a line in newline-delimited JSON.
func content(reg *registry, b endpoint.Body) map[string]MediaType {
	var item *Schema
	if b.Schema != nil {
		item = reg.ref(b.Schema)
	}
	out := map[string]MediaType{}
	for _, t := range b.Types {
		mt := MediaType{Schema: item}
		if item != nil && b.List && t != api.ContentTypeNDJSON {
			mt.Schema = &Schema{Type: "array", Items: item}
		}
		out[t] = mt
	}
	return out
}

// operationID is the method and the path's words in lowerCamelCase:
// "GET /v1/replicas/{id}/logs" is getReplicasIdLogs. Method and path are
// unique, and so is this.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, word := range strings.FieldsFunc(path, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if word == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		// A subtree ("/ui/") beside its bare path ("/ui").
		b.WriteString("Subtree")
	}
	return b.String()
}
