package master

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The API server's connection timeouts. A client has apiReadHeaderTimeout
// to send its request line and headers (a slow or silent connection is
// dropped), and a keep-alive connection between requests is closed after
// apiIdleTimeout. There is deliberately no ReadTimeout or WriteTimeout:
// they would bound a whole request, and watch, logs -f, events -f, exec,
// image uploads and the agent channel's streams last as long as both ends
// want; those end when the client goes away (the request's context).
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiIdleTimeout       = 2 * time.Minute
)

// newAPIServer is the master's HTTPS server around handler.
// connState, when set, sees each connection's state changes.
func newAPIServer(handler http.Handler, tlsConfig *tls.Config, connState func(net.Conn, http.ConnState), logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ConnState:         connState,
		ReadHeaderTimeout: apiReadHeaderTimeout,
		IdleTimeout:       apiIdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}
