package endpoint

import (
	"context"
	"errors"
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/raftnode"
	orchpb "github.com/orch-io/orch/proto"
)

// BadRequest is a 400 answer naming the field at fault.
func BadRequest(field, msg string) *api.Error {
	return &api.Error{Code: "invalid", Message: msg, Field: field, Status: http.StatusBadRequest}
}

// NotFound is a 404 answer.
func NotFound(msg string) *api.Error {
	return &api.Error{Code: "not_found", Message: msg, Status: http.StatusNotFound}
}

// ErrorOf maps an error from any layer to the API's error form; this is
// the only place that knows HTTP codes (the routes other packages add use
// it too).
func ErrorOf(err error) *api.Error {
	var we *api.Error
	var fe *manifest.FieldError
	switch {
	case errors.As(err, &we):
		return we
	case errors.As(err, &fe):
		return BadRequest(fe.Field, fe.Error())
	case errors.Is(err, raftnode.ErrLeadershipLost):
		return &api.Error{Code: api.CodeOutcomeUnknown, Message: "leadership was lost while the write was being committed; it may or may not have been applied (" + err.Error() + ")", Status: http.StatusServiceUnavailable}
	case errors.Is(err, raftnode.ErrNotLeader):
		return &api.Error{Code: "no_leader", Message: "no leader: the cluster cannot accept writes right now (" + err.Error() + ")", Status: http.StatusServiceUnavailable}
	case errors.Is(err, context.DeadlineExceeded):
		return &api.Error{Code: api.CodeOutcomeUnknown, Message: "timed out waiting for the cluster to commit; a write may or may not have been applied: " + err.Error(), Status: http.StatusServiceUnavailable}
	}
	return &api.Error{Code: "internal", Message: err.Error(), Status: http.StatusInternalServerError}
}

// ResultError turns a failed FSM result into an API error, nil for a
// success.
func ResultError(res *orchpb.CommandResult) *api.Error {
	switch res.GetErrorCode() {
	case "":
		return nil
	case orchpb.ResultConflict:
		return &api.Error{Code: "conflict", Message: res.GetError(), Status: http.StatusConflict}
	case orchpb.ResultNotFound:
		return NotFound(res.GetError())
	default:
		return BadRequest("", res.GetError())
	}
}
