// Package manifest turns what users write (YAML or JSON service manifests,
// one or more documents) into validated orchpb.ServiceSpecs, and parses the
// quantities and durations those specs keep in text form.
//
// Every rejection names the field path in the spelling of CONTRACT.md
// (update.maxSurge, ports[1].port) so that the API can answer 400 with the
// field and orchctl can point at the line to fix.
//
// It is pure: it must not touch the store, the network or the clock, and it
// knows nothing of HTTP. The API and orchctl call it; so do the controllers,
// through Requests and Duration, for values it has already validated.
package manifest
