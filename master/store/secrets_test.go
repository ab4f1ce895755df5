package store

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/master/seal"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func sealedSecret(t *testing.T, k *seal.Key, ns, name string, data map[string]string) *orchpb.Secret {
	t.Helper()
	sec := &orchpb.Secret{Namespace: ns, Name: name, Data: map[string][]byte{}}
	plain := map[string][]byte{}
	for key, v := range data {
		b, err := k.Seal(seal.SecretContext(ns, name, key), []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		sec.Data[key] = b
		plain[key] = []byte(v)
	}
	sec.Digest = k.Digest(plain)
	return sec
}

func putSecretCmd(sec *orchpb.Secret) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutSecret{PutSecret: &orchpb.PutSecret{Secret: sec}}}
}

func TestSecretRollsItsUsers(t *testing.T) {
	k, _ := seal.Generate()
	s := New()
	idx := uint64(0)
	apply := func(cmd *orchpb.Command) *orchpb.CommandResult {
		idx++
		return s.Apply(idx, cmd)
	}
	spec := &orchpb.ServiceSpec{Namespace: "default", Name: "web", Image: "x",
		Secrets: []*orchpb.SecretMount{{Name: "db", MountPath: "/run/secrets/db"}},
		EnvFrom: map[string]*orchpb.EnvFromSource{"DB_PASSWORD": {Secret: "db", Key: "password"}}}
	res := apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: spec}}})
	if res.ErrorCode != orchpb.ResultInvalid || !strings.HasPrefix(res.Error, "spec.secrets[0].name: ") {
		t.Fatalf("service naming a missing secret: %v %q", res.ErrorCode, res.Error)
	}
	if res := apply(putSecretCmd(&orchpb.Secret{Namespace: "default", Name: "db", Data: map[string][]byte{"password": []byte("plain")}, Digest: "x"})); res.ErrorCode != orchpb.ResultInvalid {
		t.Fatalf("a plain value was stored: %v", res)
	}
	apply(putSecretCmd(sealedSecret(t, k, "default", "db", map[string]string{"user": "u"})))
	res = apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: cloneSpec(spec)}}})
	if res.ErrorCode != orchpb.ResultInvalid || !strings.HasPrefix(res.Error, "spec.envFrom.DB_PASSWORD.key: ") {
		t.Fatalf("service naming a missing key: %v %q", res.ErrorCode, res.Error)
	}
	v1 := apply(putSecretCmd(sealedSecret(t, k, "default", "db", map[string]string{"user": "u", "password": "one"}))).Index
	if res := apply(&orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: cloneSpec(spec)}}}); res.ErrorCode != "" {
		t.Fatal(res.Error)
	}
	svc := s.Service("default", "web")
	if svc.Generation != 1 || svc.Spec.Secrets[0].Version != v1 || svc.Spec.EnvFrom["DB_PASSWORD"].Version != v1 {
		t.Fatalf("pinned versions: gen %d, %v", svc.Generation, svc.Spec)
	}
	// The same values again change nothing; new values roll the service.
	apply(putSecretCmd(sealedSecret(t, k, "default", "db", map[string]string{"user": "u", "password": "one"})))
	if s.Secret("default", "db").Version != v1 || s.Service("default", "web").Generation != 1 {
		t.Fatal("writing the same values made a new version")
	}
	v2 := apply(putSecretCmd(sealedSecret(t, k, "default", "db", map[string]string{"user": "u", "password": "two"}))).Index
	svc = s.Service("default", "web")
	if svc.Generation != 2 || svc.Spec.Secrets[0].Version != v2 || svc.PreviousSpec.Secrets[0].Version != v1 ||
		svc.Update.RolloutState() != orchpb.UpdateUpdating {
		t.Fatalf("after rotation: gen %d update %v spec %v", svc.Generation, svc.Update, svc.Spec)
	}
	if sec := s.Secret("default", "db"); sec.PreviousVersion != v1 || len(sec.PreviousData) != 2 {
		t.Fatalf("previous values not kept: %v", sec)
	}
	res = apply(putSecretCmd(sealedSecret(t, k, "default", "db", map[string]string{"user": "u"})))
	if res.ErrorCode != orchpb.ResultConflict || !strings.Contains(res.Error, "default/web") {
		t.Fatalf("dropping a used key: %v %q", res.ErrorCode, res.Error)
	}
	res = apply(&orchpb.Command{Op: &orchpb.Command_DeleteSecret{DeleteSecret: &orchpb.DeleteSecret{Namespace: "default", Name: "db"}}})
	if res.ErrorCode != orchpb.ResultConflict || !strings.Contains(res.Error, "default/web") {
		t.Fatalf("deleting a used secret: %v %q", res.ErrorCode, res.Error)
	}
	assertRoundTrip(t, s)
	apply(&orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{Namespace: "default", Name: "web"}}})
	if res := apply(&orchpb.Command{Op: &orchpb.Command_DeleteSecret{DeleteSecret: &orchpb.DeleteSecret{Namespace: "default", Name: "db"}}}); res.ErrorCode != "" {
		t.Fatal(res.Error)
	}
}

func TestConfigRollsItsUsers(t *testing.T) {
	s := New()
	put := func(idx uint64, data map[string]string) {
		s.Apply(idx, &orchpb.Command{Op: &orchpb.Command_PutConfig{PutConfig: &orchpb.PutConfig{
			Config: &orchpb.Config{Namespace: "default", Name: "conf", Data: data}}}})
	}
	put(1, map[string]string{"mode": "a"})
	spec := &orchpb.ServiceSpec{Namespace: "default", Name: "web", Image: "x",
		Configs: []*orchpb.ConfigMount{{Name: "conf", MountPath: "/etc/web"}}}
	if res := s.Apply(2, &orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{Spec: spec}}}); res.ErrorCode != "" {
		t.Fatal(res.Error)
	}
	put(3, map[string]string{"mode": "a"})
	if s.Service("default", "web").Generation != 1 {
		t.Fatal("an unchanged config rolled the service")
	}
	put(4, map[string]string{"mode": "b"})
	svc := s.Service("default", "web")
	if svc.Generation != 2 || svc.Spec.Configs[0].Version != 4 || s.ConfigObject("default", "conf").Previous.Data["mode"] != "a" {
		t.Fatalf("after change: %v", svc)
	}
	if users := s.ConfigUsers("default", "conf"); len(users) != 1 || users[0] != "default/web" {
		t.Fatalf("users: %v", users)
	}
	assertRoundTrip(t, s)
}

func cloneSpec(s *orchpb.ServiceSpec) *orchpb.ServiceSpec {
	return proto.Clone(s).(*orchpb.ServiceSpec)
}
