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

// apiMaxReadFrameSize is the largest HTTP/2 frame the API takes: the
// protocol's smallest. Go's HTTP/2 client sizes the buffer it keeps for a
// request body of unknown length by the server's limit, up to 512 KiB,
// and holds it while the body lasts; an agent's heartbeats go up its
// assignment stream's body for hours. At net/http's 1 MiB default, 5,000
// hollow nodes held 2.5 GB of such buffers, and every reopened stream
// cleared 512 KiB; at 16 KiB an upload costs a frame header per 16 KiB.
const apiMaxReadFrameSize = 16 << 10

// newAPIServer is the master's HTTPS server around handler.
// connState, when set, sees each connection's state changes.
func newAPIServer(handler http.Handler, tlsConfig *tls.Config, connState func(net.Conn, http.ConnState), logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ConnState:         connState,
		ReadHeaderTimeout: apiReadHeaderTimeout,
		IdleTimeout:       apiIdleTimeout,
		HTTP2:             &http.HTTP2Config{MaxReadFrameSize: apiMaxReadFrameSize},
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}
