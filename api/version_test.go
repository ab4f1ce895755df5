package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseProtocol(t *testing.T) {
	for in, want := range map[string]Protocol{"": {0, 1}, "0.2": {0, 2}, "1.10": {1, 10}} {
		got, err := ParseProtocol(in)
		if err != nil || got != want {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"1", "a.b", "0.-1", "0.2.3", "v0.2"} {
		if _, err := ParseProtocol(bad); err == nil {
			t.Errorf("ParseProtocol(%q) accepted", bad)
		}
	}
}

func TestCheckProtocolWindow(t *testing.T) {
	cases := []struct {
		local, remote Protocol
		ok            bool
		says          string
	}{
		{Protocol{0, 2}, Protocol{0, 2}, true, ""},
		{Protocol{0, 2}, Protocol{0, 1}, true, ""},
		{Protocol{0, 2}, Protocol{0, 3}, true, ""},
		{Protocol{0, 3}, Protocol{0, 1}, false, "older than this end's 0.3: upgrade it"},
		{Protocol{0, 1}, Protocol{0, 3}, false, "newer than this end's 0.1: upgrade this end first"},
		{Protocol{1, 0}, Protocol{0, 9}, false, "older"},
	}
	for _, c := range cases {
		err := CheckProtocol(c.local, c.remote, "agent n1")
		if (err == nil) != c.ok {
			t.Errorf("CheckProtocol(%v, %v) = %v; want ok=%v", c.local, c.remote, err, c.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrVersionSkew) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "agent n1 speaks protocol "+c.remote.String()) {
				t.Errorf("CheckProtocol(%v, %v) = %q; want a version_skew error saying %q", c.local, c.remote, err, c.says)
			}
		}
	}
}

// Both halves together: the transport announces this build, the handler
// answers with it, and a peer outside the window is refused on either side.
func TestVersionHandlerAndTransport(t *testing.T) {
	srv := httptest.NewServer(VersionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HeaderProtocol) != ProtocolVersion.String() {
			t.Errorf("request carried %q", r.Header.Get(HeaderProtocol))
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()
	hc := &http.Client{Transport: VersionTransport{}}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get(HeaderProtocol) != ProtocolVersion.String() {
		t.Fatalf("answer %d with protocol %q", resp.StatusCode, resp.Header.Get(HeaderProtocol))
	}

	// A request from far in the future is refused with a sentence.
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set(HeaderProtocol, "0.9")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1024)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	apiErr := DecodeError(resp.StatusCode, body[:n])
	if resp.StatusCode != http.StatusBadRequest || apiErr.Code != CodeVersionSkew || !strings.Contains(apiErr.Message, "protocol 0.9") {
		t.Fatalf("future client got %d %v", resp.StatusCode, apiErr)
	}

	// An answer from a server outside the window is refused by the client.
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderProtocol, "7.0")
	}))
	defer old.Close()
	if _, err := hc.Get(old.URL); !errors.Is(err, ErrVersionSkew) {
		t.Fatalf("answer of protocol 7.0 accepted: %v", err)
	}
	// An answer without the header is v0.1.0's, inside the window.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	resp, err = hc.Get(plain.URL)
	if err != nil {
		t.Fatalf("unversioned answer refused: %v", err)
	}
	resp.Body.Close()
}

func TestSenderProtocol(t *testing.T) {
	h := http.Header{}
	if SenderProtocol(h) != ProtocolUnversioned {
		t.Error("no header: v0.1.0")
	}
	h.Set(HeaderProtocol, "0.3")
	if SenderProtocol(h) != (Protocol{0, 3}) {
		t.Error("0.3 misread")
	}
	h.Set(HeaderProtocol, "x")
	if SenderProtocol(h) != ProtocolUnversioned {
		t.Error("unreadable: v0.1.0")
	}
}
