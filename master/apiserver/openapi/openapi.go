// Package openapi builds the API reference, an OpenAPI 3 document, from the
// route table the API server registers (GET /v1/openapi.json, and
// docs/openapi.json in the repository). Each route carries its own summary,
// role, parameters and bodies (endpoint.Route); this package only turns
// them into the document and derives the body schemas from the Go and
// protobuf types the routes name, so the reference cannot drift from what
// the server serves.
//
// It must not serve anything or know which routes exist: the API server
// hands it the table.
package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/endpoint"
)

// Version is the OpenAPI version the document follows.
const Version = "3.0.3"

// RolePublic is x-orch-role of a route that needs no token.
const RolePublic = "public"

// securityScheme is the name of the bearer-token scheme in the document.
const securityScheme = "bearerAuth"

// Document is an OpenAPI 3.0 document, the parts of it orch uses.
type Document struct {
	OpenAPI    string              `json:"openapi"`
	Info       Info                `json:"info"`
	Paths      map[string]PathItem `json:"paths"`
	Components Components          `json:"components"`
}

// Info describes the API as a whole.
type Info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

// PathItem holds a path's operations by lower-case method.
type PathItem map[string]*Operation

// Operation is one route.
type Operation struct {
	OperationID string               `json:"operationId"`
	Summary     string               `json:"summary"`
	Parameters  []*Parameter         `json:"parameters,omitempty"`
	RequestBody *RequestBody         `json:"requestBody,omitempty"`
	Responses   map[string]*Response `json:"responses"`
	// Security is empty (not absent) for a public route: it overrides
	// nothing at the top level, but says so to a reader.
	Security []map[string][]string `json:"security"`
	// Role is the role the route needs (RolePublic for none): orch's roles
	// are not OAuth scopes, so they travel in an extension.
	Role string `json:"x-orch-role"`
}

// Parameter is a path, query or header parameter.
type Parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Required    bool    `json:"required,omitempty"`
	Description string  `json:"description,omitempty"`
	Schema      *Schema `json:"schema"`
}

// RequestBody is what a route reads.
type RequestBody struct {
	Description string               `json:"description,omitempty"`
	Required    bool                 `json:"required"`
	Content     map[string]MediaType `json:"content"`
}

// Response is one answer of a route; Ref points to a shared one.
type Response struct {
	Ref         string               `json:"$ref,omitempty"`
	Description string               `json:"description,omitempty"`
	Headers     map[string]*Header   `json:"headers,omitempty"`
	Content     map[string]MediaType `json:"content,omitempty"`
}

// Header is a response header; Ref points to a shared one.
type Header struct {
	Ref         string  `json:"$ref,omitempty"`
	Description string  `json:"description,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}

// MediaType is a body in one media type; Schema is absent for a body
// described in words only.
type MediaType struct {
	Schema *Schema `json:"schema,omitempty"`
}

// SecurityScheme is how a caller proves its role.
type SecurityScheme struct {
	Type        string `json:"type"`
	Scheme      string `json:"scheme"`
	Description string `json:"description"`
}

// Components are the shared parts the operations refer to.
type Components struct {
	Schemas         map[string]*Schema        `json:"schemas"`
	Responses       map[string]*Response      `json:"responses"`
	Headers         map[string]*Header        `json:"headers"`
	SecuritySchemes map[string]SecurityScheme `json:"securitySchemes"`
}

// Build makes the document of routes. The document is complete even when
// it returns an error: the error lists the routes whose description is
// wrong or missing (no summary, a path parameter the pattern lacks, a body
// type it cannot describe), which the reference's test turns into a
// failure.
func Build(routes []endpoint.Route) (*Document, error) {
	reg := newRegistry()
	doc := &Document{
		OpenAPI: Version,
		Info: Info{
			Title:   "orch REST API",
			Version: "v1",
			Description: "The REST API of an orch master, built from the route table the master serves. " +
				"docs/api.md in the repository explains authentication, the error form, X-Orch-Index, If-Match, watches and stale reads.",
		},
		Paths:      map[string]PathItem{},
		Components: sharedComponents(reg),
	}
	var errs []error
	for _, r := range routes {
		method, path, err := splitPattern(r.Pattern)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		op, err := operation(reg, r, method, path)
		if err != nil {
			errs = append(errs, fmt.Errorf("openapi: route %q: %w", r.Pattern, err))
		}
		item := doc.Paths[path]
		if item == nil {
			item = PathItem{}
			doc.Paths[path] = item
		}
		if item[strings.ToLower(method)] != nil {
			errs = append(errs, fmt.Errorf("openapi: route %q is declared twice", r.Pattern))
		}
		item[strings.ToLower(method)] = op
	}
	errs = append(errs, reg.errs...)
	return doc, errors.Join(errs...)
}

// JSON is the document of routes as indented JSON, the form served and
// committed; the error is Build's.
func JSON(routes []endpoint.Route) ([]byte, error) {
	doc, buildErr := Build(routes)
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: encode the document: %w", err)
	}
	return append(data, '\n'), buildErr
}

// splitPattern takes "METHOD /path" apart; the reference describes only
// patterns with a method (a bare path would match every method).
func splitPattern(pattern string) (method, path string, err error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		return "", "", fmt.Errorf("openapi: route %q: want \"METHOD /path\"", pattern)
	}
	switch method {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch:
		return method, path, nil
	}
	return "", "", fmt.Errorf("openapi: route %q: method %s is not described", pattern, method)
}

// roleName is the x-orch-role of a route.
func roleName(r auth.Role) string {
	if r == endpoint.Public {
		return RolePublic
	}
	return string(r)
}
