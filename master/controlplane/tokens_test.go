package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
)

// TestTokenListRevokeExpiry: a token made with a ttl expires, the list
// shows ids, roles and times but never a secret or digest, and a revoked
// token is refused.
func TestTokenListRevokeExpiry(t *testing.T) {
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	var unwritten map[string]time.Time
	f := newFixtureWith(t, func(d *Deps) {
		d.Now = clock
		d.LastUsed = func(id string) (time.Time, bool) { at, ok := unwritten[id]; return at, ok }
	})
	toks := auth.NewTokens(f.st, nil, auth.WithClock(clock))

	admin := f.createToken(t, `{"role":"admin"}`)
	short := f.createToken(t, `{"role":"reader","ttl":"1h"}`)
	if !short.Expires.Equal(start.Add(time.Hour)) || short.ID == "" {
		t.Errorf("created %+v, want id and expiry %v", short, start.Add(time.Hour))
	}
	if code, body := f.call(t, "POST", "/v1/tokens", `{"role":"reader","ttl":"-5m"}`); code != 400 || !strings.Contains(body, `"field":"ttl"`) {
		t.Errorf("negative ttl: %d %s", code, body)
	}

	if _, err := toks.Authenticate(short.Token); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	now = start.Add(time.Hour)
	if _, err := toks.Authenticate(short.Token); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("expired token: %v, want ErrExpired", err)
	}

	unwritten = map[string]time.Time{admin.ID: start.Add(30 * time.Minute)}
	code, body := f.call(t, "GET", "/v1/tokens", "")
	if code != 200 {
		t.Fatalf("list: %d %s", code, body)
	}
	for _, secret := range []string{admin.Token, short.Token, f.st.TokenByID(admin.ID).GetSha256(), f.st.TokenByID(short.ID).GetSha256()} {
		if strings.Contains(body, secret) || strings.Contains(body, secret[len(secret)-20:]) {
			t.Errorf("the list shows a secret or digest: %s", body)
		}
	}
	var list []api.TokenInfo
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 2 {
		t.Fatalf("list = %s (%v)", body, err)
	}
	for _, info := range list {
		want := api.TokenInfo{ID: admin.ID, Role: "admin", Created: start, LastUsed: start.Add(30 * time.Minute)}
		if info.ID == short.ID {
			want = api.TokenInfo{ID: short.ID, Role: "reader", Created: start, Expires: start.Add(time.Hour)}
		}
		if info != want {
			t.Errorf("listed %+v, want %+v", info, want)
		}
	}

	if code, body := f.call(t, "DELETE", "/v1/tokens/"+admin.ID, ""); code != 409 || !strings.Contains(body, "last admin token") {
		t.Errorf("revoking the last admin token: %d %s", code, body)
	}
	if code, body := f.call(t, "DELETE", "/v1/tokens/"+short.ID, ""); code != 200 || !strings.Contains(body, short.ID) {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, _ := f.call(t, "DELETE", "/v1/tokens/"+short.ID, ""); code != 404 {
		t.Errorf("revoke again: %d, want 404", code)
	}
	if _, err := toks.Authenticate(short.Token); !errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, auth.ErrExpired) {
		t.Errorf("revoked token: %v, want unknown", err)
	}
}

// TestRecordTokenUse: last-use times reach Raft only when they are at
// least TokenUseGranularity past the recorded one.
func TestRecordTokenUse(t *testing.T) {
	f := newFixture(t)
	tok := f.createToken(t, `{"role":"agent"}`)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	writes := func() uint64 { return f.st.Index() }
	record := func(at time.Time) {
		t.Helper()
		if err := f.server.RecordTokenUse(context.Background(), map[string]time.Time{tok.ID: at, "gone": at}); err != nil {
			t.Fatal(err)
		}
	}
	before := writes()
	record(t0)
	if writes() != before+1 || f.st.TokenByID(tok.ID).GetLastUsedAt() != t0.UnixMilli() {
		t.Fatalf("first use not written: %v", f.st.TokenByID(tok.ID))
	}
	record(t0.Add(59 * time.Second))
	if writes() != before+1 {
		t.Error("a use within a minute of the recorded one was written")
	}
	code, _ := f.call(t, "POST", "/v1/cluster/tokenuse", `{"lastUsed":{"`+tok.ID+`":"2030-01-01T00:01:00Z"}}`)
	if code != 204 || writes() != before+2 || f.st.TokenByID(tok.ID).GetLastUsedAt() != t0.Add(time.Minute).UnixMilli() {
		t.Errorf("a follower's report a minute later: %d, %v", code, f.st.TokenByID(tok.ID))
	}
}

func (f *fixture) createToken(t *testing.T, body string) api.Token {
	t.Helper()
	code, out := f.call(t, "POST", "/v1/tokens", body)
	var tok api.Token
	if code != 201 || json.Unmarshal([]byte(out), &tok) != nil {
		t.Fatalf("create token %s: %d %s", body, code, out)
	}
	return tok
}
