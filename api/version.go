package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Protocol is a version of the protocol orch's processes speak to one
// another: agent and master, master and master, client and master. Two
// ends work together while their majors are equal and their minors at most
// one apart (docs/upgrading.md); the newer end refuses the older outside
// that window, so that an upgrade done one minor version at a time never
// meets a peer it cannot understand.
type Protocol struct {
	Major, Minor int
}

// ProtocolVersion is the protocol this build speaks.
var ProtocolVersion = Protocol{0, 2}

// ProtocolUnversioned is what a peer that sends no version speaks: v0.1.0,
// the first release, sent none.
var ProtocolUnversioned = Protocol{0, 1}

// HeaderProtocol carries the sender's protocol version on every request and
// every answer of the HTTP channels ("0.2").
const HeaderProtocol = "X-Orch-Protocol"

// CodeVersionSkew is the error code of a request refused because its
// sender's protocol is outside the receiver's window.
const CodeVersionSkew = "version_skew"

// ErrVersionSkew matches (errors.Is) every refusal for version skew.
var ErrVersionSkew = &Error{Code: CodeVersionSkew}

func (p Protocol) String() string { return strconv.Itoa(p.Major) + "." + strconv.Itoa(p.Minor) }

// Less orders versions.
func (p Protocol) Less(q Protocol) bool {
	return p.Major < q.Major || (p.Major == q.Major && p.Minor < q.Minor)
}

// ParseProtocol reads "MAJOR.MINOR"; the empty string is
// ProtocolUnversioned.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return ProtocolUnversioned, nil
	}
	major, minor, ok := strings.Cut(s, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || ma < 0 || mi < 0 {
		return Protocol{}, fmt.Errorf("api: protocol version %q is not MAJOR.MINOR", s)
	}
	return Protocol{ma, mi}, nil
}

// CheckProtocol says whether this end (speaking local) works with a peer
// speaking remote; peer names the peer for the message ("the client at
// 10.0.0.5:4431", "the server at m1:7443"). The error, an *Error with
// CodeVersionSkew, says which side to upgrade.
func CheckProtocol(local, remote Protocol, peer string) error {
	if local.Major == remote.Major && local.Minor-remote.Minor <= 1 && remote.Minor-local.Minor <= 1 {
		return nil
	}
	side := "upgrade it"
	age := "older"
	if local.Less(remote) {
		side, age = "upgrade this end first", "newer"
	}
	return &Error{Code: CodeVersionSkew, Status: http.StatusBadRequest, Message: fmt.Sprintf(
		"%s speaks protocol %s, more than one minor version %s than this end's %s: %s (one minor version at a time, see docs/upgrading.md)",
		peer, remote, age, local, side)}
}

// CheckHeader checks a request's or answer's protocol header against this
// build's.
func CheckHeader(h http.Header, peer string) error {
	remote, err := ParseProtocol(h.Get(HeaderProtocol))
	if err != nil {
		return &Error{Code: CodeVersionSkew, Message: fmt.Sprintf("%s: %v", peer, err), Status: http.StatusBadRequest}
	}
	return CheckProtocol(ProtocolVersion, remote, peer)
}

// VersionHandler answers every request with this build's protocol version
// and refuses one whose sender is outside the window, before next sees it.
func VersionHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderProtocol, ProtocolVersion.String())
		if err := CheckHeader(r.Header, "the client at "+r.RemoteAddr); err != nil {
			var e *Error
			errors.As(err, &e)
			WriteError(w, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// VersionTransport sends this build's protocol version with every request
// and refuses an answer from a peer outside the window (the answer's body
// is closed and the error returned instead).
type VersionTransport struct {
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t VersionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(HeaderProtocol, ProtocolVersion.String())
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := CheckHeader(resp.Header, "the server at "+req.URL.Host); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// ProtocolWindow is the oldest and newest protocol this build works with.
func ProtocolWindow() (oldest, newest Protocol) {
	oldest, newest = ProtocolVersion, ProtocolVersion
	if oldest.Minor > 0 {
		oldest.Minor--
	}
	newest.Minor++
	return oldest, newest
}

// VersionLine is what `version` commands print about the protocol.
func VersionLine() string {
	oldest, newest := ProtocolWindow()
	return fmt.Sprintf("protocol %s (works with %s to %s)", ProtocolVersion, oldest, newest)
}

// Prev is the minor version before p (p itself at minor 0).
func (p Protocol) Prev() Protocol {
	if p.Minor > 0 {
		p.Minor--
	}
	return p
}

// SenderProtocol is the protocol the sender of a request (or answer) with
// headers h speaks: what a server consults to talk to an older peer in the
// older way (a delta stream only to agents that read deltas, say).
// VersionHandler has refused unreadable and out-of-window versions before a
// handler sees them; an unreadable one reads as ProtocolUnversioned here.
func SenderProtocol(h http.Header) Protocol {
	p, err := ParseProtocol(h.Get(HeaderProtocol))
	if err != nil {
		return ProtocolUnversioned
	}
	return p
}
