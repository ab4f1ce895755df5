package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAllKinds(t *testing.T) {
	objs, err := ParseAll([]byte(`kind: Secret
name: db
data: {password: c2VjcmV0}
stringData: {user: admin}
---
kind: Config
name: web-conf
data: {mode: fast}
binaryData: {blob: AAE=}
---
kind: Service
name: web
image: orch.local/hello:1
secrets: [{name: db, mountPath: /run/secrets/db}]
envFrom: {DB_PASSWORD: {secret: db, key: password}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || objs[0].Kind() != "Secret" || objs[1].Kind() != "Config" || objs[2].Kind() != "Service" {
		t.Fatalf("kinds: %+v", objs)
	}
	if string(objs[0].Secret.Data["password"]) != "secret" || objs[0].Secret.StringData["user"] != "admin" || objs[0].Secret.Namespace != "default" {
		t.Fatalf("secret: %+v", objs[0].Secret)
	}
	if objs[1].Config.Data["mode"] != "fast" || string(objs[1].Config.BinaryData["blob"]) != "\x00\x01" {
		t.Fatalf("config: %+v", objs[1].Config)
	}
}

func TestParseObjectErrors(t *testing.T) {
	for _, c := range []struct{ doc, field string }{
		{"kind: Secret\nname: db\ndata: {password: '!!'}", "data"},
		{"kind: Secret\nname: db\ndata: {'../x': YQ==}", `data["../x"]`},
		{"kind: Secret\nname: db", "data"},
		{"kind: Secret\nname: db\nstringData: {a: b}\nvalues: {}", "values"},
		{"kind: Config\nname: Bad_Name\ndata: {a: b}", "name"},
		{"kind: Config\nname: c\ndata: {a: b}\nbinaryData: {a: YQ==}", "binaryData.a"},
		{"kind: Deployment\nname: c", "kind"},
		{"kind: Service\nname: web\nimage: orch.local/hello:1\nsecrets: [{name: db, mountPath: run}]", "secrets[0].mountPath"},
		{"kind: Service\nname: web\nimage: orch.local/hello:1\nenvFrom: {A: {secret: db, config: c, key: k}}", "envFrom.A"},
		{"kind: Service\nname: web\nimage: orch.local/hello:1\nenvFrom: {A: {secret: db}}", "envFrom.A.key"},
		{"kind: Service\nname: web\nimage: orch.local/hello:1\nenv: {A: x}\nenvFrom: {A: {secret: db, key: k}}", "envFrom.A"},
	} {
		_, err := ParseAll([]byte(c.doc))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%q: got %v, want an error on %s", c.doc, err, c.field)
		}
	}
	if _, err := ParseAll([]byte("kind: Deployment\nname: c")); err == nil || !strings.Contains(err.Error(), "Secret or Config") {
		t.Errorf("unknown kind: %v", err)
	}
}
