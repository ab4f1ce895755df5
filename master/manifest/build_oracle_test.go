package manifest

import (
	"encoding/json"
	"fmt"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
)

// buildSpecViaProtojson is how a checked document became a spec before
// buildSpec encoded it directly: written out as JSON for protojson to read.
// It is the oracle buildSpec is held to (FuzzBuildSpec).
func buildSpecViaProtojson(norm map[string]any) (*orchpb.ServiceSpec, error) {
	js, err := json.Marshal(norm)
	if err != nil {
		return nil, fmt.Errorf("manifest: encode checked document: %w", err)
	}
	spec := &orchpb.ServiceSpec{}
	if err := protojson.Unmarshal(js, spec); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return spec, nil
}

// MarshalJSON writes d as protojson reads a Duration ("1.500s"), for
// buildSpecViaProtojson.
func (d duration) MarshalJSON() ([]byte, error) {
	b, err := protojson.Marshal(durationpb.New(time.Duration(d)))
	if err != nil {
		return nil, fmt.Errorf("manifest: duration %v: %w", time.Duration(d), err)
	}
	return b, nil
}
