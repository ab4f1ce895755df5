package apiserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

func writeAny(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	writeJSON(w, status, body)
}

// watch streams store events after ?index=N as newline-delimited JSON.
func (s *Server) watch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from := s.deps.Store.Index()
	if v := q.Get("index"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, endpoint.BadRequest("index", "index: want a number, got "+strconv.Quote(v)))
			return
		}
		if n > 0 {
			from = n
		}
	}
	kind := q.Get("kind")
	switch kind {
	case "", "service", "replica", "node", "image":
	default:
		writeError(w, endpoint.BadRequest("kind", "kind: want service, replica, node or image"))
		return
	}
	release, ok := s.openStream(w, r)
	if !ok {
		return
	}
	defer release()
	events, err := s.deps.Store.Watch(r.Context(), from)
	if errors.Is(err, store.ErrCompacted) {
		writeError(w, &api.Error{Code: "gone", Message: "watch index " + strconv.FormatUint(from, 10) + " has been compacted; list again and watch from the index of the list", Status: http.StatusGone})
		return
	}
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	keepalive := time.NewTicker(keepaliveInterval)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := w.Write([]byte("\n")); err != nil {
				return
			}
		case ev, ok := <-events:
			if !ok {
				// The watcher fell behind or the store was restored: the
				// client must list again.
				return
			}
			if (kind != "" && ev.Kind != kind) || ev.Kind == store.KindVolume {
				// Volume bindings are not part of the watch API (yet):
				// clients list them (GET /v1/volumes).
				continue
			}
			line, err := encodeEvent(ev)
			if err != nil {
				s.log.Error("encode watch event", "index", ev.Index, "err", err)
				return
			}
			if _, err := w.Write(line); err != nil {
				return
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func encodeEvent(ev store.Event) ([]byte, error) {
	var obj []byte
	var err error
	if svc, ok := ev.Object.(*orchpb.Service); ok {
		obj, err = api.MarshalService(svc)
	} else {
		obj, err = api.Marshal(ev.Object)
	}
	if err != nil {
		return nil, err
	}
	line, err := json.Marshal(api.WatchEvent{Index: ev.Index, Type: ev.Type, Kind: ev.Kind, Object: obj})
	if err != nil {
		return nil, err
	}
	return append(line, '\n'), nil
}
