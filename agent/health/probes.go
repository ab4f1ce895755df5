package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
)

// Prober checks a replica once. A nil error is a success; an error's text
// is the reason users see after "health check failed: ".
//
// Probe must return by ctx's deadline (the check's timeout).
type Prober interface {
	Probe(ctx context.Context) error
}

// HTTP is healthy when GET Path on Addr answers 2xx or 3xx (redirects are
// not followed).
type HTTP struct {
	Addr string // HOST:PORT
	Path string
}

// probeTransport opens a new connection per probe, as kubelet does: a
// reused connection could hide a server that no longer accepts any.
var probeTransport = &http.Transport{
	DisableKeepAlives: true,
	Proxy:             nil,
	DialContext:       (&net.Dialer{}).DialContext,
}

var probeClient = &http.Client{
	Transport: probeTransport,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// Probe implements Prober.
func (h HTTP) Probe(ctx context.Context) error {
	path := h.Path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.Addr+path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("User-Agent", "orch-health")
	resp, err := probeClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %s", path, reason(ctx, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return nil
}

// TCP is healthy when a connection to Addr opens.
type TCP struct {
	Addr string // HOST:PORT
}

// Probe implements Prober.
func (c TCP) Probe(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(c.Addr)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("tcp connect to port %s: %s", port, reason(ctx, err))
	}
	conn.Close()
	return nil
}

// ExecFunc runs args inside the replica, writing its output to out, and
// returns its exit code; ending ctx must end the process.
type ExecFunc func(ctx context.Context, args []string, out io.Writer) (int, error)

// Exec is healthy when Command, run inside the replica, exits 0.
type Exec struct {
	Command []string
	Run     ExecFunc
}

// maxExecOutput bounds what is kept of a check's output, for the message.
const maxExecOutput = 4 << 10

// Probe implements Prober.
func (e Exec) Probe(ctx context.Context) error {
	if len(e.Command) == 0 || e.Run == nil {
		return errors.New("exec: no command")
	}
	out := &limitedBuffer{max: maxExecOutput}
	code, err := e.Run(ctx, e.Command, out)
	name := e.Command[0]
	if err != nil {
		return fmt.Errorf("exec %s: %s", name, reason(ctx, err))
	}
	if code != 0 {
		msg := fmt.Sprintf("exec %s: exited %d", name, code)
		if line := firstLine(out.Bytes()); line != "" {
			msg += ": " + line
		}
		return errors.New(msg)
	}
	return nil
}

// reason shortens an error for people: timeouts and refusals in words
// rather than a chain of dial details.
func reason(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	return err.Error()
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte{'\n'})
	s := strings.TrimSpace(string(line))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// limitedBuffer keeps the first max bytes written and discards the rest.
// stdout and stderr may write to it at once.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (l *limitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}
