package api

import (
	"encoding/json"
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Watch event types.
const (
	EventPut    = "put"
	EventDelete = "delete"
)

// Object kinds, as in watch events and GET /v1/watch?kind=.
const (
	KindService = "service"
	KindReplica = "replica"
	KindNode    = "node"
	KindImage   = "image"
)

// WatchEvent is one line of GET /v1/watch (newline-delimited JSON). Object
// is the object's wire form (MarshalObject), after the change for a put and
// as it last was for a delete.
type WatchEvent struct {
	Index  uint64          `json:"index"`
	Type   string          `json:"type"`
	Kind   string          `json:"kind"`
	Object json.RawMessage `json:"object"`
}

// NewWatchEvent builds an event, encoding obj in its wire form.
func NewWatchEvent(index uint64, typ, kind string, obj proto.Message) (WatchEvent, error) {
	raw, err := MarshalObject(obj)
	if err != nil {
		return WatchEvent{}, fmt.Errorf("api: watch event %d (%s %s): %w", index, typ, kind, err)
	}
	return WatchEvent{Index: index, Type: typ, Kind: kind, Object: raw}, nil
}

// NewObject returns an empty message of the kind's type.
func NewObject(kind string) (proto.Message, error) {
	switch kind {
	case KindService:
		return &orchpb.Service{}, nil
	case KindReplica:
		return &orchpb.Replica{}, nil
	case KindNode:
		return &orchpb.Node{}, nil
	case KindImage:
		return &orchpb.Image{}, nil
	}
	return nil, fmt.Errorf("api: unknown object kind %q", kind)
}

// Message decodes the event's object into the message type of its kind.
func (e WatchEvent) Message() (proto.Message, error) {
	m, err := NewObject(e.Kind)
	if err != nil {
		return nil, err
	}
	if err := UnmarshalObject(e.Object, m); err != nil {
		return nil, fmt.Errorf("api: watch event %d: %w", e.Index, err)
	}
	return m, nil
}
