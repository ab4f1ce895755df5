package master

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/master/backup"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// TestRestoreRefusesBeforeTouchingDataDir: a restore of anything but a
// whole backup fails with the backup's own reason and creates nothing.
func TestRestoreRefusesBeforeTouchingDataDir(t *testing.T) {
	good, err := backup.Encode(&orchpb.StateSnapshot{Index: 3})
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := proto.Marshal(&orchpb.StateSnapshot{Index: 3})
	for name, data := range map[string][]byte{
		"empty": nil, "a bare snapshot": bare, "truncated": good[:len(good)-5],
	} {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := Restore(context.Background(), Config{DataDir: dir, RaftAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0"}, data)
		if !errors.Is(err, backup.ErrInvalid) {
			t.Errorf("%s: %v, want backup.ErrInvalid", name, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the data directory was touched: %v", name, err)
		}
	}
}
