package controlplane

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
)

// TestTokenRevokeAndExpiryOnEveryMaster: a revoked token and an expired
// token are refused by all three masters within a second, and the token
// list shows no secret.
func TestTokenRevokeAndExpiryOnEveryMaster(t *testing.T) {
	c := newCluster(t, 3)
	create := func(args ...string) api.Token {
		t.Helper()
		out, err := c.orchctl(c.masters[1].url(), append([]string{"token", "create", "-o", "json"}, args...)...)
		var tok api.Token
		if err != nil || json.Unmarshal([]byte(out), &tok) != nil {
			t.Fatalf("orchctl token create %v: %v\n%s", args, err, out)
		}
		return tok
	}
	revoked := create("--role", "reader")
	expiring := create("--role", "reader", "--ttl", "3s")
	for _, m := range c.masters {
		for _, tok := range []api.Token{revoked, expiring} {
			if code := c.readWith(m.url(), tok.Token); code != http.StatusOK {
				t.Fatalf("new token %s at %s: %d", tok.ID, m.id, code)
			}
		}
	}

	out, err := c.orchctl(c.masters[2].url(), "token", "list")
	if err != nil || !strings.Contains(out, revoked.ID) || !strings.Contains(out, "in ") {
		t.Errorf("token list: %v\n%s", err, out)
	}
	for _, tok := range []api.Token{revoked, expiring} {
		if strings.Contains(out, tok.Token[len(tok.Token)-16:]) {
			t.Errorf("token list shows a secret:\n%s", out)
		}
	}

	if out, err := c.orchctl(c.masters[2].url(), "token", "revoke", revoked.ID); err != nil {
		t.Fatalf("orchctl token revoke: %v\n%s", err, out)
	}
	c.refusedEverywhere(revoked.Token, time.Now(), "revoked")
	c.refusedEverywhere(expiring.Token, expiring.Expires, "expired")
}

// refusedEverywhere checks that every master answers 401 to token within a
// second of since.
func (c *cluster) refusedEverywhere(token string, since time.Time, what string) {
	c.t.Helper()
	time.Sleep(time.Until(since))
	var wg sync.WaitGroup
	errs := make(chan error, len(c.masters))
	for _, m := range c.masters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				code := c.readWith(m.url(), token)
				if code == http.StatusUnauthorized {
					c.t.Logf("%s token refused by %s %v after", what, m.id, time.Since(since).Round(time.Millisecond))
					return
				}
				if time.Since(since) > time.Second {
					errs <- fmt.Errorf("%s token still answered %d by %s after %v", what, code, m.id, time.Since(since))
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		c.t.Error(err)
	}
}

// readWith makes a stale read (no leader involved) at base with token and
// returns the status.
func (c *cluster) readWith(base, token string) int {
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/nodes?stale=true", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
