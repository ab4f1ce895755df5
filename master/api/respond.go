package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/orch-io/orch/master/api/wire"
	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/raftnode"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func writeError(w http.ResponseWriter, e *wire.Error) { wire.WriteError(w, e) }

func badRequest(field, msg string) *wire.Error {
	return &wire.Error{Code: "invalid", Message: msg, Field: field, Status: http.StatusBadRequest}
}

func notFound(msg string) *wire.Error {
	return &wire.Error{Code: "not_found", Message: msg, Status: http.StatusNotFound}
}

// ErrorOf maps an error from any layer to the API's error form; this is
// the only place that knows HTTP codes (the routes other packages add use
// it too).
func ErrorOf(err error) *wire.Error {
	var we *wire.Error
	var fe *manifest.FieldError
	switch {
	case errors.As(err, &we):
		return we
	case errors.As(err, &fe):
		return badRequest(fe.Field, fe.Error())
	case errors.Is(err, raftnode.ErrLeadershipLost):
		return &wire.Error{Code: wire.CodeOutcomeUnknown, Message: "leadership was lost while the write was being committed; it may or may not have been applied (" + err.Error() + ")", Status: http.StatusServiceUnavailable}
	case errors.Is(err, raftnode.ErrNotLeader):
		return &wire.Error{Code: "no_leader", Message: "no leader: the cluster cannot accept writes right now (" + err.Error() + ")", Status: http.StatusServiceUnavailable}
	case errors.Is(err, context.DeadlineExceeded):
		return &wire.Error{Code: wire.CodeOutcomeUnknown, Message: "timed out waiting for the cluster to commit; a write may or may not have been applied: " + err.Error(), Status: http.StatusServiceUnavailable}
	}
	return &wire.Error{Code: "internal", Message: err.Error(), Status: http.StatusInternalServerError}
}

// ResultError turns a failed FSM result into an API error, nil for a
// success.
func ResultError(res *orchpb.CommandResult) *wire.Error {
	switch res.GetErrorCode() {
	case "":
		return nil
	case orchpb.ResultConflict:
		return &wire.Error{Code: "conflict", Message: res.GetError(), Status: http.StatusConflict}
	case orchpb.ResultNotFound:
		return notFound(res.GetError())
	default:
		return badRequest("", res.GetError())
	}
}

// propose sends a command through Raft and writes an error answer when it
// fails; ok reports whether the caller should go on.
func (s *Server) propose(w http.ResponseWriter, r *http.Request, cmd *orchpb.Command) (*orchpb.CommandResult, bool) {
	res, err := s.deps.Proposer.Apply(r.Context(), cmd)
	if err != nil {
		writeError(w, ErrorOf(err))
		return nil, false
	}
	if e := ResultError(res); e != nil {
		writeError(w, e)
		return nil, false
	}
	return res, true
}

// consistentRead waits for the read barrier unless ?stale=true.
func (s *Server) consistentRead(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.ReadBarrier == nil || r.URL.Query().Get("stale") == "true" {
		return true
	}
	if err := s.deps.ReadBarrier(r.Context()); err != nil {
		writeError(w, ErrorOf(err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func writeMessage(w http.ResponseWriter, status int, m proto.Message) {
	body, err := wire.Marshal(m)
	if err != nil {
		writeError(w, ErrorOf(err))
		return
	}
	writeJSON(w, status, body)
}

// writeList renders objects as one JSON array.
func writeList[T any](w http.ResponseWriter, items []T, marshal func(T) ([]byte, error)) {
	buf := []byte{'['}
	for i, it := range items {
		b, err := marshal(it)
		if err != nil {
			writeError(w, ErrorOf(err))
			return
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	buf = append(buf, ']')
	writeJSON(w, http.StatusOK, buf)
}

func marshalMessage[T proto.Message](m T) ([]byte, error) { return wire.Marshal(m) }
