// Package auth decides who may do what on a master: roles, bearer tokens
// checked against the replicated digests (with a read barrier for a token
// created a moment ago on the leader) and their expiry (against the clock,
// at every request), when each token was last accepted here, and the
// legacy token file that older masters kept on disk.
//
// The token digests are replicated state (the master puts them through
// Raft); this package only makes and checks tokens. Certificates and the CA
// belong to package pki. It knows nothing of HTTP routes or Raft: revoking
// is deleting from the table, and writing last-use times is the master's
// job.
package auth
