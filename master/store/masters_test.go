package store

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func putMaster(id, raft, api string) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{
		Master: &orchpb.Master{Id: id, RaftAddress: raft, ApiAddress: api},
	}}}
}

func putToken(hash, role string) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{Token: &orchpb.Token{Sha256: hash, Role: role}}}}
}

func setConfig(cfg *orchpb.ClusterConfig) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: cfg}}}
}

func TestControlPlaneTables(t *testing.T) {
	hashA := strings.Repeat("a", 64)
	tests := []struct {
		name     string
		cmd      *orchpb.Command
		wantCode string
	}{
		{"master", putMaster("m1", "127.0.0.1:7401", "https://127.0.0.1:7400"), ""},
		{"master again, new address", putMaster("m1", "127.0.0.1:7401", "https://127.0.0.1:7500"), ""},
		{"second master", putMaster("m2", "127.0.0.1:7411", "https://127.0.0.1:7410"), ""},
		{"master without id", putMaster("", "x", "y"), orchpb.ResultInvalid},
		{"remove master", &orchpb.Command{Op: &orchpb.Command_RemoveMaster{RemoveMaster: &orchpb.RemoveMaster{Id: "m2"}}}, ""},
		{"remove unknown master", &orchpb.Command{Op: &orchpb.Command_RemoveMaster{RemoveMaster: &orchpb.RemoveMaster{Id: "m9"}}}, orchpb.ResultNotFound},
		{"token", putToken(hashA, "admin"), ""},
		{"token with a short hash", putToken("abc", "admin"), orchpb.ResultInvalid},
		{"token with a non-hex hash", putToken(strings.Repeat("z", 64), "admin"), orchpb.ResultInvalid},
		{"token without role", putToken(strings.Repeat("b", 64), ""), orchpb.ResultInvalid},
		{"config with CA", setConfig(&orchpb.ClusterConfig{ClusterCidr: "10.1.0.0/16", CaCertPem: "C", CaKeyPem: "K"}), ""},
		{"config keeps the CA when it leaves it out", setConfig(&orchpb.ClusterConfig{ClusterCidr: "10.2.0.0/16"}), ""},
		{"config may repeat the same CA", setConfig(&orchpb.ClusterConfig{ClusterCidr: "10.2.0.0/16", CaCertPem: "C", CaKeyPem: "K"}), ""},
		{"config may not replace the CA", setConfig(&orchpb.ClusterConfig{CaCertPem: "C2", CaKeyPem: "K2"}), orchpb.ResultInvalid},
	}
	s := New()
	for _, tc := range tests {
		res := s.Apply(s.Index()+1, tc.cmd)
		if res.ErrorCode != tc.wantCode {
			t.Errorf("%s: code %q (%s), want %q", tc.name, res.ErrorCode, res.Error, tc.wantCode)
		}
	}
	if m := s.Master("m1"); m.GetApiAddress() != "https://127.0.0.1:7500" {
		t.Errorf("m1 = %v", m)
	}
	if s.Master("m2") != nil || len(s.Masters()) != 1 {
		t.Errorf("masters = %v", s.Masters())
	}
	if tok := s.Token(hashA); tok.GetRole() != "admin" {
		t.Errorf("token = %v", tok)
	}
	if s.Token(strings.Repeat("b", 64)) != nil {
		t.Error("a refused token was stored")
	}
	cfg := s.Config()
	if cfg.GetCaCertPem() != "C" || cfg.GetCaKeyPem() != "K" || cfg.GetClusterCidr() != "10.2.0.0/16" {
		t.Errorf("config = %v", cfg)
	}
	// Both tables survive a snapshot, and neither shows up in the watch.
	r := assertRoundTrip(t, s)
	if r.Master("m1") == nil {
		t.Error("master lost in the round trip")
	}
	if r.Token(hashA).GetRole() != "admin" {
		t.Error("token lost in the round trip")
	}
	if n := s.ring.next - s.ring.start; n != 0 {
		t.Errorf("control-plane records emitted %d watch events", n)
	}
}

func TestConfigNeedsWholeCA(t *testing.T) {
	s := New()
	if res := s.Apply(1, setConfig(&orchpb.ClusterConfig{CaCertPem: "C"})); res.ErrorCode != orchpb.ResultInvalid {
		t.Fatalf("a CA without its key was accepted: %v", res)
	}
}
