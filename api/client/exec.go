package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/orch-io/orch/api"
)

// ExecOptions are the streams of an exec session.
type ExecOptions struct {
	// Stdin, when not nil, is sent to the process; its EOF closes the
	// process's stdin.
	Stdin io.Reader
	// Stdout and Stderr receive the output (nil discards it). With TTY all
	// output arrives on Stdout.
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize, with TTY, carries terminal sizes to the process.
	Resize <-chan [2]uint16
	// Container picks a sidecar or init container by name; empty is the
	// main one.
	Container string
}

// Exec runs command in a running replica (its display name or id) and
// returns the command's exit code once it has ended and its output has
// been copied. Ending ctx ends the session, and the process with it.
func (c *Client) Exec(ctx context.Context, idOrName, ns string, command []string, opts ExecOptions) (int, error) {
	what := fmt.Sprintf("exec in %s", idOrName)
	q := api.ExecRequest{Command: command, Stdin: opts.Stdin != nil, TTY: opts.TTY, Container: opts.Container}.Query()
	for k, v := range nsQuery(ns) {
		q[k] = v
	}
	conn, err := c.upgrade(ctx, replicaPath(idOrName)+"/exec", q)
	if err != nil {
		return -1, fmt.Errorf("client: %s: %w", what, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	fw := api.NewFrameWriter(conn)
	var wg sync.WaitGroup
	done := make(chan struct{})
	defer func() { close(done); wg.Wait() }()
	if opts.Stdin != nil {
		// Not waited for: a stdin that never ends (a terminal) is left
		// behind once the session is over; its writes then fail.
		go func() {
			_, _ = io.Copy(fw.Stream(api.FrameStdin), opts.Stdin)
			_ = fw.Write(api.FrameStdin, nil)
		}()
	}
	if opts.TTY && opts.Resize != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case sz, ok := <-opts.Resize:
					if !ok {
						return
					}
					_ = fw.Resize(sz[0], sz[1])
				}
			}
		}()
	}
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	for {
		typ, payload, err := api.ReadFrame(conn)
		if err != nil {
			if ctx.Err() != nil {
				return -1, fmt.Errorf("client: %s: %w", what, ctx.Err())
			}
			return -1, fmt.Errorf("client: %s: the session ended without an exit status: %w", what, err)
		}
		switch typ {
		case api.FrameStdout:
			_, _ = stdout.Write(payload)
		case api.FrameStderr:
			_, _ = stderr.Write(payload)
		case api.FrameExit:
			exit, err := api.ParseExit(payload)
			if err != nil {
				return -1, fmt.Errorf("client: %s: %w", what, err)
			}
			if exit.Error != "" {
				return exit.Code, fmt.Errorf("client: %s: %s", what, exit.Error)
			}
			return exit.Code, nil
		}
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// upgrade sends an upgrade request to the servers in turn (as any request)
// and returns the switched connection.
func (c *Client) upgrade(ctx context.Context, path string, q url.Values) (io.ReadWriteCloser, error) {
	resp, err := c.send(ctx, request{method: http.MethodPost, path: path, query: q, stream: true, upgrade: api.ExecProtocol})
	if err != nil {
		return nil, err
	}
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, errors.New("the server switched protocols but gave no connection")
	}
	return rw, nil
}

// http1 is the client's transport restricted to HTTP/1.1: a connection
// upgrade does not exist in HTTP/2.
func (c *Client) http1() *http.Client {
	rt := c.http.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	if !ok {
		return c.http
	}
	tr = tr.Clone()
	if tr.TLSClientConfig != nil {
		// A transport that has spoken HTTP/2 offers "h2" by ALPN; the
		// server would take it.
		tr.TLSClientConfig = tr.TLSClientConfig.Clone()
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	tr.ForceAttemptHTTP2 = false
	return &http.Client{Transport: tr}
}
