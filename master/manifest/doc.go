// Package manifest turns what users write (YAML or JSON service manifests,
// one or more documents) into validated orchpb.ServiceSpecs: durations are
// parsed here, once, into typed values, and the defaults of orchpb's one
// table are written in. It also parses the quantities ("100m", "32Mi")
// that specs keep in text form.
//
// Every rejection names the field path in the spelling of docs/manifest.md
// (update.maxSurge, ports[1].port) so that the API can answer 400 with the
// field and orchctl can point at the line to fix.
//
// It is pure: it must not touch the store, the network or the clock, and it
// knows nothing of HTTP. The API and orchctl call it; so do the controllers,
// through Requests, for quantities it has already validated.
package manifest
