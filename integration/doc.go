// Package integration holds the single-machine acceptance tests: the real
// orchd binary in dev mode (master and agent in one process) against a
// private containerd, driven through the API client the CLI uses.
//
// The multi-host suite (network namespaces as hosts) lives in e2e/.
package integration
