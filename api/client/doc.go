// Package client is the Go client of orch's REST API, used by orchctl, the
// agent and tests: HTTPS with the cluster CA and a bearer token, failover
// across several master URLs, objects decoded from their wire form, and the
// config file (~/.orch/config) that tells it where the cluster is.
//
// It owns nothing on the server side: it must not import the store, Raft or
// the API server, only the protocol (package api) and the schema.
package client
