// Package controlplane serves the cluster's own API: membership (a master
// joining, being removed, updating where its API is), the credentials a
// joining master needs, the read index followers ask the leader for, each
// master's status, backups (GET /v1/snapshot) and new tokens.
//
// Each route declares its role next to its definition. Writes go through
// Raft on the leader; a follower's master/peer.Forwarder sends them there.
// It must not run controllers or know about services and replicas beyond
// serialising the whole state for a backup.
package controlplane
