package api

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
)

// Exec sessions (`orchctl exec`) switch the HTTP/1.1 connection to this
// protocol (101 Switching Protocols, "Upgrade: orch-exec/1"), end to end
// from the client through a master to the agent; the master only copies
// bytes. Each message is a frame: one type byte, a 4-byte big-endian
// length, the payload.
const ExecProtocol = "orch-exec/1"

// Frame types.
const (
	FrameStdin  byte = 'i' // client to agent; an empty payload ends stdin
	FrameResize byte = 'r' // client to agent; width and height, 2 bytes each
	FrameStdout byte = 'o' // agent to client
	FrameStderr byte = 'e' // agent to client
	FrameExit   byte = 'x' // agent to client, last: an ExecExit as JSON
)

// maxFrame bounds a frame's payload, so a corrupt length cannot make the
// reader allocate without limit.
const maxFrame = 1 << 20

// ExecRequest is what to run; it travels as query parameters.
type ExecRequest struct {
	Command []string
	Stdin   bool // the client sends stdin frames
	TTY     bool
	// Container names the replica's container to run in (a sidecar, an
	// init container); empty picks the main one.
	Container string
}

// Query encodes r for the URL.
func (r ExecRequest) Query() url.Values {
	q := url.Values{}
	q["command"] = r.Command
	q.Set("stdin", strconv.FormatBool(r.Stdin))
	q.Set("tty", strconv.FormatBool(r.TTY))
	if r.Container != "" {
		q.Set("container", r.Container)
	}
	return q
}

// ParseExecRequest decodes the query of an exec request.
func ParseExecRequest(q url.Values) (ExecRequest, error) {
	r := ExecRequest{Command: q["command"], Stdin: q.Get("stdin") == "true", TTY: q.Get("tty") == "true", Container: q.Get("container")}
	if len(r.Command) == 0 || r.Command[0] == "" {
		return r, &Error{Code: CodeInvalid, Field: "command", Message: "command: want the program to run"}
	}
	return r, nil
}

// ExecExit ends a session: the exit code, or why the command could not run.
type ExecExit struct {
	Code  int    `json:"code"`
	Error string `json:"error,omitempty"`
}

// FrameWriter writes frames; it is safe for concurrent use (stdout and
// stderr are copied at once).
type FrameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewFrameWriter writes frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// Write sends one frame.
func (f *FrameWriter) Write(typ byte, payload []byte) error {
	for len(payload) > maxFrame {
		if err := f.Write(typ, payload[:maxFrame]); err != nil {
			return err
		}
		payload = payload[maxFrame:]
	}
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.w.Write(hdr[:]); err != nil {
		return err
	}
	if len(payload) > 0 {
		if _, err := f.w.Write(payload); err != nil {
			return err
		}
	}
	return nil
}

// Stream is an io.Writer that sends each write as a frame of type typ.
func (f *FrameWriter) Stream(typ byte) io.Writer { return streamWriter{f, typ} }

// Exit sends the last frame.
func (f *FrameWriter) Exit(e ExecExit) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return f.Write(FrameExit, b)
}

// Resize sends a terminal size.
func (f *FrameWriter) Resize(width, height uint16) error {
	var b [4]byte
	binary.BigEndian.PutUint16(b[:2], width)
	binary.BigEndian.PutUint16(b[2:], height)
	return f.Write(FrameResize, b[:])
}

type streamWriter struct {
	f   *FrameWriter
	typ byte
}

func (s streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := s.f.Write(s.typ, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (typ byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("exec stream: frame of %d bytes is too large", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("exec stream: %w", errors.Join(err, io.ErrUnexpectedEOF))
	}
	return hdr[0], payload, nil
}

// ParseResize decodes a resize frame's payload.
func ParseResize(p []byte) (width, height uint16, ok bool) {
	if len(p) != 4 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(p[:2]), binary.BigEndian.Uint16(p[2:]), true
}

// ParseExit decodes an exit frame's payload.
func ParseExit(p []byte) (ExecExit, error) {
	var e ExecExit
	if err := json.Unmarshal(p, &e); err != nil {
		return e, fmt.Errorf("exec stream: exit frame: %w", err)
	}
	return e, nil
}
