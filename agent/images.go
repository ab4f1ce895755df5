package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/master/api/wire"
)

// FetchImage is the runtime's image source: it downloads an image that was
// loaded into the cluster (`orchctl image load`) from a master. It reports
// runtime.ErrNotFound when the cluster does not hold ref, so the runtime
// falls back to the image's registry.
func (a *Agent) FetchImage(ctx context.Context, ref string) (io.ReadCloser, error) {
	if a.conn == nil {
		return nil, fmt.Errorf("agent: fetch image %s: not connected yet: %w", ref, runtime.ErrNotFound)
	}
	body, err := a.conn.fetchImage(ctx, ref)
	var we *wire.Error
	if errors.As(err, &we) && we.Status == http.StatusNotFound {
		return nil, fmt.Errorf("agent: image %s is not loaded in the cluster: %w", ref, runtime.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("agent: fetch image %s from a master: %w", ref, err)
	}
	return body, nil
}
