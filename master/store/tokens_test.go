package store

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func revokeToken(id string) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_RevokeToken{RevokeToken: &orchpb.RevokeToken{Id: id}}}
}

func touchToken(id string, at int64) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_TouchTokens{TouchTokens: &orchpb.TouchTokens{Uses: []*orchpb.TokenUse{{Id: id, At: at}}}}}
}

func TestTokenLifecycle(t *testing.T) {
	hashA, hashB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	s := New()
	apply := func(cmd *orchpb.Command, wantCode string) {
		t.Helper()
		if res := s.Apply(s.Index()+1, cmd); res.ErrorCode != wantCode {
			t.Fatalf("%v: code %q (%s), want %q", cmd, res.ErrorCode, res.Error, wantCode)
		}
	}
	apply(&orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{Token: &orchpb.Token{
		Sha256: hashA, Role: "reader", CreatedAt: 1000, ExpiresAt: 5000,
	}}}}, "")
	apply(putToken(hashB, "admin"), "")
	a := s.TokenByID(hashA[:TokenIDLength])
	if a.GetSha256() != hashA || a.GetCreatedAt() != 1000 || a.GetExpiresAt() != 5000 {
		t.Fatalf("token by id = %v", a)
	}
	// An id may name only one token.
	apply(&orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{Token: &orchpb.Token{
		Sha256: strings.Repeat("c", 64), Role: "reader", Id: a.Id,
	}}}}, orchpb.ResultConflict)

	apply(touchToken(a.Id, 3000), "")
	apply(touchToken(a.Id, 2000), "") // late report: kept the newer time
	apply(touchToken("nosuchtoken", 2000), "")
	if got := s.Token(hashA).GetLastUsedAt(); got != 3000 {
		t.Errorf("last used = %d, want 3000", got)
	}
	if a.GetLastUsedAt() != 0 {
		t.Error("touch modified an object readers hold")
	}
	assertRoundTrip(t, s)

	apply(revokeToken(a.Id), "")
	apply(revokeToken(a.Id), orchpb.ResultNotFound)
	apply(revokeToken(hashB[:TokenIDLength]), orchpb.ResultConflict) // the last admin token
	if s.Token(hashA) != nil || s.TokenByID(a.Id) != nil {
		t.Error("a revoked token is still known")
	}
	if list := s.Tokens(); len(list) != 1 || list[0].GetSha256() != hashB {
		t.Errorf("tokens = %v", list)
	}
	r := assertRoundTrip(t, s)
	if r.TokenByID(hashB[:TokenIDLength]) == nil {
		t.Error("token id index not rebuilt on restore")
	}
}

// A snapshot from before token ids restores with derived ids.
func TestRestoreTokenWithoutID(t *testing.T) {
	hashA := strings.Repeat("a", 64)
	s := New()
	s.Restore(&orchpb.StateSnapshot{Index: 7, Tokens: []*orchpb.Token{{Sha256: hashA, Role: "reader"}}})
	if tok := s.TokenByID(hashA[:TokenIDLength]); tok.GetRole() != "reader" {
		t.Fatalf("token by derived id = %v", tok)
	}
	if res := s.Apply(8, revokeToken(hashA[:TokenIDLength])); res.ErrorCode != "" {
		t.Fatalf("revoke: %v", res)
	}
}
