package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal("default/db/password", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed value contains the plain text")
	}
	plain, err := k.Open("default/db/password", sealed)
	if err != nil || string(plain) != "hunter2" {
		t.Fatalf("open: %q, %v", plain, err)
	}
	if _, err := k.Open("default/other/password", sealed); err == nil {
		t.Fatal("a value opened under another context")
	}
	other, _ := Generate()
	if _, err := other.Open("default/db/password", sealed); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with another key: %v, want ErrWrongKey", err)
	}
	if KeyIDOf(sealed) != k.ID() {
		t.Fatalf("KeyIDOf = %s, want %s", KeyIDOf(sealed), k.ID())
	}
}

func TestDigest(t *testing.T) {
	k, _ := Generate()
	a := k.Digest(map[string][]byte{"a": []byte("1"), "b": []byte("2")})
	if a != k.Digest(map[string][]byte{"b": []byte("2"), "a": []byte("1")}) {
		t.Fatal("digest depends on map order")
	}
	if a == k.Digest(map[string][]byte{"a": []byte("12")}) || a == k.Digest(map[string][]byte{"a": []byte("1"), "b": []byte("3")}) {
		t.Fatal("different values, same digest")
	}
	other, _ := Generate()
	if a == other.Digest(map[string][]byte{"a": []byte("1"), "b": []byte("2")}) {
		t.Fatal("digest does not depend on the key")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	k, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v", fi.Mode(), err)
	}
	k2, created, err := LoadOrCreate(dir)
	if err != nil || created || k2.ID() != k.ID() {
		t.Fatalf("load: %v, created %v, id %s want %s", err, created, k2.ID(), k.ID())
	}
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(filepath.Join(dir, FileName)); err == nil {
		t.Fatal("a key file readable by others was accepted")
	}
}
