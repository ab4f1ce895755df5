// Package auth owns the cluster's credentials: the cluster CA and the
// certificates it signs, the masters' TLS identity (a CA-signed certificate
// with the subject "orch-master", used for Raft and master-to-master calls),
// bearer tokens with roles, and join tokens that carry the CA's digest so a
// joining machine can verify the master before it sends its secret (the
// docker swarm scheme).
//
// The CA and the token digests are replicated state (the master puts them
// through Raft); this package only makes and checks them, plus a local copy
// of the CA on each master's disk. It knows nothing of HTTP routes or Raft.
package auth
