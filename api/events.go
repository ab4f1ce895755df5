package api

import "time"

// ClusterEvent is one human event of GET /v1/events: what happened to an object,
// in a sentence ("web.2 scheduled on node-3"). Events are derived by every
// master from the replicated change stream, so any master serves the same
// ones; they are kept in memory, a bounded recent history.
type ClusterEvent struct {
	// Seq orders a master's events; pass it as ?after= to resume.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Index is the Raft index of the change behind the event.
	Index uint64 `json:"index"`
	// Type is "normal" or "warning".
	Type string `json:"type"`
	// Reason is one CamelCase word: Scheduled, Started, Unhealthy, ...
	Reason    string `json:"reason"`
	Kind      string `json:"kind"` // service, job, replica or node
	Namespace string `json:"namespace,omitempty"`
	Service   string `json:"service,omitempty"`
	// Replica is the display name (web.2), ReplicaID the id.
	Replica   string `json:"replica,omitempty"`
	ReplicaID string `json:"replicaId,omitempty"`
	// Node is the node's name.
	Node    string `json:"node,omitempty"`
	Message string `json:"message"`
}

// Event types.
const (
	EventNormal  = "normal"
	EventWarning = "warning"
)

// Subject names what the event is about: "service default/web",
// "replica web.2", "node n1".
func (e ClusterEvent) Subject() string {
	switch e.Kind {
	case "service", "job":
		return e.Kind + " " + e.Namespace + "/" + e.Service
	case "replica":
		return "replica " + e.Replica
	case "node":
		return "node " + e.Node
	}
	return e.Kind
}
