// Package api is orch's protocol, shared by both sides: the master's API
// server (master/apiserver) and the dispatcher on one side, the agent, the
// Go client (api/client) and orchctl on the other. It is the JSON form of
// orch's objects on the REST API and the agent channel's framing.
//
// It owns the encoding only: protojson with lowerCamelCase names and 64-bit
// integers written as JSON numbers, the flat Service form, the error body,
// watch events, the exec stream's frames and the plain status types that
// have no protobuf message. It must not know about HTTP routes, the store or
// Raft, and it imports nothing of master/ or agent/. docs/api.md and
// GET /v1/openapi.json describe the routes that carry it.
package api

// Header names shared by server and client.
const (
	// HeaderIndex carries the Raft index a response reflects.
	HeaderIndex = "X-Orch-Index"
	// HeaderIfMatch makes a write conditional on an object's version.
	HeaderIfMatch = "If-Match"
)

// Content types of the API's bodies.
const (
	ContentTypeJSON   = "application/json"
	ContentTypeNDJSON = "application/x-ndjson"
	ContentTypeTar    = "application/x-tar"
)
