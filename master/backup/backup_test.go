package backup

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func sample() *orchpb.StateSnapshot {
	return &orchpb.StateSnapshot{Index: 42,
		Config: &orchpb.ClusterConfig{ClusterCidr: "10.244.0.0/16"},
		Tokens: []*orchpb.Token{{Sha256: "ab", Role: "admin"}}}
}

func TestRoundTrip(t *testing.T) {
	data, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil || !proto.Equal(got, sample()) {
		t.Fatalf("Decode(Encode(s)) = %v, %v", got, err)
	}
}

// TestDecodeRefuses: everything but a whole backup of this version is
// refused, each with a sentence saying what is wrong.
func TestDecodeRefuses(t *testing.T) {
	good, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	// A bare StateSnapshot parses as protobuf: it must still be refused.
	bare, _ := proto.Marshal(sample())
	edit := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string]struct {
		data []byte
		says string
	}{
		"empty":            {nil, "empty"},
		"a bare snapshot":  {bare, "does not start with"},
		"text":             {[]byte("hello\n"), "does not start with"},
		"header only":      {good[:headerLen], "truncated"},
		"truncated":        {good[:len(good)-1], "truncated"},
		"trailing garbage": {append(append([]byte(nil), good...), 0), "truncated or padded"},
		"corrupted byte": {edit(func(b []byte) []byte {
			b[headerLen+2] ^= 0x40
			return b
		}), "checksum"},
		"corrupted checksum": {edit(func(b []byte) []byte {
			b[len(b)-1] ^= 1
			return b
		}), "checksum"},
		"other version": {edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[len(Magic):], Version+1)
			return b
		}), "format version 2"},
	}
	for name, c := range cases {
		_, err := Decode(c.data)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", name, err, c.says)
		}
	}
}
