package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api"
)

// FetchImage is the runtime's image source: it downloads an image that was
// loaded into the cluster (`orchctl image load`) from a master. It reports
// runtime.ErrNotFound when the cluster does not hold ref, so the runtime
// falls back to the image's registry.
func (a *Agent) FetchImage(ctx context.Context, ref string) (io.ReadCloser, error) {
	if a.conn == nil {
		return nil, fmt.Errorf("agent: fetch image %s: not connected yet: %w", ref, runtime.ErrNotFound)
	}
	// A master that cannot answer, or has not copied the tarball yet
	// (503), sends us on to the next; a 404 is the cluster's answer.
	var err error
	for range max(len(a.cfg.Masters), 1) {
		var body io.ReadCloser
		body, err = a.conn.fetchImage(ctx, ref)
		var we *api.Error
		switch {
		case err == nil:
			return body, nil
		case errors.As(err, &we) && we.Status == http.StatusNotFound:
			return nil, fmt.Errorf("agent: image %s is not loaded in the cluster: %w", ref, runtime.ErrNotFound)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("agent: fetch image %s: %w", ref, ctx.Err())
		}
	}
	return nil, fmt.Errorf("agent: fetch image %s from a master: %w", ref, err)
}
