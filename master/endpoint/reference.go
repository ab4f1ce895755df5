package endpoint

import "github.com/orch-io/orch/api"

// Where a Param travels, named as in OpenAPI.
const (
	InQuery  = "query"
	InHeader = "header"
	InPath   = "path"
)

// Param is a query parameter, request header or path wildcard of a route,
// for the API reference. Every wildcard of the pattern is a path parameter
// whether or not a Param describes it.
type Param struct {
	Name string
	In   string // InQuery, InHeader or InPath
	Doc  string
}

// Query is a query parameter.
func Query(name, doc string) Param { return Param{Name: name, In: InQuery, Doc: doc} }

// Header is a request header.
func Header(name, doc string) Param { return Param{Name: name, In: InHeader, Doc: doc} }

// Path describes a wildcard of the pattern.
func Path(name, doc string) Param { return Param{Name: name, In: InPath, Doc: doc} }

// Body is a request or answer body, for the API reference.
type Body struct {
	// Types are the media types the body may have, the same content in
	// each (a JSON array and newline-delimited JSON count as the same
	// list); none means no body.
	Types []string
	// Schema is a value of the body's Go type: a proto message (written in
	// the api package's JSON form, a Service flat) or a plain struct read
	// through its json tags. Nil for a body the reference does not describe
	// (a tarball, a PEM file, binary protobuf).
	Schema any
	// List means a JSON array of Schema, or one Schema per line for
	// newline-delimited JSON.
	List bool
	// Status is the success status; zero means 200 OK.
	Status int
	// Created: the answer is 201 Created instead when the request made a
	// new object (a PUT that creates).
	Created bool
	// Doc says in words what the body holds.
	Doc string
}

// JSON is a body holding one object of schema's type.
func JSON(schema any) Body { return Body{Types: []string{api.ContentTypeJSON}, Schema: schema} }

// JSONList is a body holding a JSON array of schema's type.
func JSONList(schema any) Body {
	return Body{Types: []string{api.ContentTypeJSON}, Schema: schema, List: true}
}

// Stream is a newline-delimited JSON stream of schema's type, written as
// things happen.
func Stream(schema any, doc string) Body {
	return Body{Types: []string{api.ContentTypeNDJSON}, Schema: schema, List: true, Doc: doc}
}

// Opaque is a body of the given media type that the reference describes
// in words only.
func Opaque(mediaType, doc string) Body { return Body{Types: []string{mediaType}, Doc: doc} }
