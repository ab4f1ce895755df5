// Package pki is the cluster's public-key machinery, shared by masters,
// agents and clients: the cluster CA and the certificates it signs,
// certificate requests and keys, the masters' TLS identity (the subject
// "orch-master") and the TLS configurations that check it, leaves'
// lifetimes and when they are due for renewal (LiveCert lets a renewed
// certificate serve the next handshake), cross-signing for a CA
// replacement, certificate digests, and the join-token format that carries the CA's digest so that a
// joining machine can verify the master before it sends its secret (the
// docker swarm scheme).
//
// It makes and checks credentials; it knows nothing of roles, tokens'
// storage, HTTP routes or Raft (master/auth owns who may do what).
package pki
