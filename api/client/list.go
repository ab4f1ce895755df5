package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/orch-io/orch/api"
	"google.golang.org/protobuf/proto"
)

// list GETs a JSON array of objects.
func list[T proto.Message](ctx context.Context, c *Client, path string, query url.Values, newT func() T) ([]T, uint64, error) {
	var raw []byte
	index, err := c.do(ctx, request{method: http.MethodGet, path: path, query: query}, &raw)
	if err != nil {
		return nil, 0, err
	}
	items, err := api.UnmarshalList(raw, newT)
	if err != nil {
		return nil, 0, fmt.Errorf("client: GET %s: %w", path, err)
	}
	return items, index, nil
}
