package apiserver

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/events"
)

// defaultEventLimit bounds a plain GET /v1/events: the newest ones.
const defaultEventLimit = 500

// events serves the human event stream: a JSON array of recent events, or
// with ?follow=true newline-delimited JSON, the recent ones first and then
// each new one as it happens. Filters: kind, namespace, service, replica
// (id or name), node (name); ?after=SEQ resumes, ?limit=N bounds the
// history.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.deps.Events == nil {
		writeError(w, &api.Error{Code: "internal", Message: "events are not kept by this master", Status: http.StatusInternalServerError})
		return
	}
	q := r.URL.Query()
	f := events.Filter{Kind: q.Get("kind"), Namespace: q.Get("namespace"), Service: q.Get("service"),
		Replica: q.Get("replica"), Node: q.Get("node")}
	if n := s.findNode(f.Node); n != nil {
		f.Node = n.GetName()
	}
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, endpoint.BadRequest("after", "after: want an event seq (a number), got "+strconv.Quote(v)))
			return
		}
		after = n
	}
	limit := defaultEventLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, endpoint.BadRequest("limit", "limit: want a number >= 0, got "+strconv.Quote(v)))
			return
		}
		limit = n
	}
	follow, _ := strconv.ParseBool(q.Get("follow"))
	evs, next, wait := s.deps.Events.After(after, f, limit)
	if !follow {
		if evs == nil {
			evs = []api.ClusterEvent{}
		}
		writeAny(w, http.StatusOK, evs)
		return
	}
	release, ok := s.openStream(w, r)
	if !ok {
		return
	}
	defer release()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	keepalive := time.NewTicker(keepaliveInterval)
	defer keepalive.Stop()
	for {
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := w.Write([]byte("\n")); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			evs = nil
			continue
		case <-wait:
		}
		evs, next, wait = s.deps.Events.After(next, f, 0)
	}
}
