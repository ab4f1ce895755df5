// Package auth owns the cluster's credentials: the cluster CA and the
// certificates it signs, bearer tokens with roles, and join tokens that carry
// the CA's digest so a joining machine can verify the master before it sends
// its secret (the docker swarm scheme).
//
// It stores its material as files in the master's data directory and knows
// nothing of HTTP routes or Raft; the API asks it who a token belongs to.
package auth
