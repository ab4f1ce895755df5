package master

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestAPIServerTimeouts: a connection that sends no request, or sits idle
// after one, is closed; a stream that lasts far longer than both
// timeouts is not cut.
func TestAPIServerTimeouts(t *testing.T) {
	srv := newAPIServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stream" {
			return
		}
		for range 6 {
			_, _ = io.WriteString(w, "tick\n")
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}), nil, nil, slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout == 0 || srv.IdleTimeout == 0 || srv.ReadTimeout != 0 || srv.WriteTimeout != 0 {
		t.Fatalf("timeouts: header %s, idle %s, read %s, write %s", srv.ReadHeaderTimeout, srv.IdleTimeout, srv.ReadTimeout, srv.WriteTimeout)
	}
	srv.ReadHeaderTimeout, srv.IdleTimeout = 200*time.Millisecond, 200*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		return err == nil || errors.Is(err, io.EOF) // EOF, not the deadline
	}

	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if !closedWithin(silent, 3*time.Second) {
		t.Error("a connection that sent no request was not closed")
	}

	stream, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	_, _ = io.WriteString(stream, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(stream)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(body), "tick") != 6 {
		t.Fatalf("a 600 ms stream past 200 ms timeouts: %q, %v", body, err)
	}
	// Now idle on a keep-alive connection: closed after IdleTimeout.
	_ = stream.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("an idle keep-alive connection was not closed: %v", err)
	}
}

// TestAPIOffersHTTP2: the API's TLS config is made per handshake (the CAs
// trusted change during a CA replacement); it must still offer h2, or every
// agent and every forwarding master opens a connection, with a handshake,
// per concurrent call.
func TestAPIOffersHTTP2(t *testing.T) {
	m, _ := startTestMaster(t, Config{})
	conn, err := tls.Dial("tcp", strings.TrimPrefix(m.URL(), "https://"), &tls.Config{RootCAs: m.CA().Pool(), ServerName: "127.0.0.1", NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().NegotiatedProtocol; got != "h2" {
		t.Fatalf("the API negotiated %q, want h2", got)
	}
	// The server's first frame is its SETTINGS: the largest frame it
	// takes sizes every streamed request body's buffer at the client.
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	settings, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("the API's first frame is %T, want SETTINGS", f)
	}
	size := uint32(16 << 10) // the protocol's default
	if v, ok := settings.Value(http2.SettingMaxFrameSize); ok {
		size = v
	}
	if size != apiMaxReadFrameSize {
		t.Errorf("the API takes frames of up to %d bytes, want %d", size, apiMaxReadFrameSize)
	}
}
