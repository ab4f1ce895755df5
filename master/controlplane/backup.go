package controlplane

import (
	"net/http"
	"strconv"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/backup"
)

// snapshot streams the whole state as one backup (master/backup): a
// consistent backup (the store's snapshot is one applied index), taken
// after a read barrier unless ?stale=true. It holds the CA key and token
// digests, so it is admin-only; `orchd master restore` reads it.
func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("stale") != "true" && s.deps.ReadBarrier != nil {
		if err := s.deps.ReadBarrier(r.Context()); err != nil {
			api.WriteError(w, endpoint.ErrorOf(err))
			return
		}
	}
	snap := s.deps.Store.Snapshot()
	data, err := backup.Encode(snap)
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	setIndex(w, snap.GetIndex())
	w.Header().Set("Content-Type", api.ContentTypeSnapshot)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Content-Disposition", `attachment; filename="orch-`+strconv.FormatUint(snap.GetIndex(), 10)+`.snap"`)
	_, _ = w.Write(data)
}
