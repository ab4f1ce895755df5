package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/agent/logs"
	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/api"
)

// masterCommonName is the subject the masters' certificates carry; only
// they may read a replica's output from the agent.
const masterCommonName = "orch-master"

// server is the agent's own endpoint, where masters read a replica's
// output and exec into it.
type server struct {
	logs    *logs.Files
	runtime runtime.Runtime
	// container resolves a container of a replica that runs on this node
	// (name "" is the main one); ok is false for no such replica or
	// container.
	container func(replicaID, name string) (id string, ok bool)
	// certificate is the node's, asked for at each handshake so that a
	// re-registration's new certificate takes effect at once.
	certificate func() (*tls.Certificate, error)
	// metrics serves the agent's Prometheus registry (docs/metrics.md).
	metrics http.Handler
	log     *slog.Logger
}

// serve answers the masters with mutual TLS until ctx ends; trust holds
// the CAs that sign the masters' client certificates, read at each
// handshake.
func (s *server) serve(ctx context.Context, ln net.Listener, trust *caTrust) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/logs/{id}", s.serveLogs)
	mux.HandleFunc("POST /v1/exec/{id}", s.serveExec)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics)
	}
	srv := &http.Server{
		Handler:           api.VersionHandler(mux),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return s.tlsConfig(trust.Pool()), nil },
		},
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		_ = srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("agent endpoint stopped", "err", err)
	}
}

func (s *server) serveLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := api.CheckPathName("replica id", id); err != nil {
		api.WriteError(w, &api.Error{Code: "invalid", Field: "id", Message: err.Error(), Status: http.StatusBadRequest})
		return
	}
	tail := -1
	if v := r.URL.Query().Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			api.WriteError(w, &api.Error{Code: "invalid", Field: "tail", Message: "tail: want a number", Status: http.StatusBadRequest})
			return
		}
		tail = n
	}
	id, apiErr := s.logID(id, r.URL.Query().Get("container"))
	if apiErr != nil {
		api.WriteError(w, apiErr)
		return
	}
	data, end, err := s.logs.Tail(id, tail)
	if errors.Is(err, os.ErrNotExist) {
		api.WriteError(w, &api.Error{Code: "not_found", Message: "no output recorded for " + id + " on this node", Status: http.StatusNotFound})
		return
	}
	if err != nil {
		api.WriteError(w, &api.Error{Code: "internal", Message: err.Error(), Status: http.StatusInternalServerError})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	if r.URL.Query().Get("follow") != "true" {
		return
	}
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	_ = s.logs.Follow(r.Context(), id, end, w, flush)
}

// logID is the log file's key of a replica's container: the replica's id
// for the main container, else the container's id, also after the replica
// stopped (its output is kept until it is removed).
func (s *server) logID(replicaID, name string) (string, *api.Error) {
	if name == "" {
		return replicaID, nil
	}
	if id, ok := s.container(replicaID, name); ok {
		return id, nil
	}
	if err := api.CheckPathName("container", name); err != nil || strings.Contains(name, ".") {
		return "", &api.Error{Code: "invalid", Field: "container", Message: "container: " + strconv.Quote(name) + " is not a container name", Status: http.StatusBadRequest}
	}
	return extraContainerID(replicaID, name), nil
}

// tlsConfig is the endpoint's TLS config for one handshake: the masters'
// client certificates are checked against clientCAs.
func (s *server) tlsConfig(clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		ClientCAs:      clientCAs,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.certificate() },
		VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
			if len(chains) == 0 || chains[0][0].Subject.CommonName != masterCommonName {
				return errors.New("agent: only masters may call the agent")
			}
			return nil
		},
	}
}
