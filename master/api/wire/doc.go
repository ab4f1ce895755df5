// Package wire is the JSON form of orch's objects on the REST API, shared by
// the server (master/api) and its clients (master/api/client, orchctl).
//
// It owns the encoding only: protojson with lowerCamelCase names and 64-bit
// integers written as JSON numbers, the flat Service form of CONTRACT.md,
// the error body, watch events and the plain status types that have no
// protobuf message. It must not know about HTTP routes, the store or Raft.
package wire

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
