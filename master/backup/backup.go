// Package backup is the file format of a cluster backup (GET /v1/snapshot,
// `orchctl snapshot save`, `orchd master restore`): the whole state as a
// binary StateSnapshot, framed so that a restore can tell an orch backup
// of a version it reads, whole and unaltered, from anything else before
// it touches a data directory.
//
// The layout (docs/ARCHITECTURE.md, Snapshots):
//
//	magic    8 bytes  "ORCHBKP\n"
//	version  4 bytes  big-endian, 1
//	length   8 bytes  big-endian, the payload's length
//	payload  length bytes, a deterministic protobuf StateSnapshot
//	sha256   32 bytes, of everything before it
//
// It owns the framing only; what a snapshot holds is the store's.
package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Magic opens every backup.
const Magic = "ORCHBKP\n"

// Version is the format this code writes and the only one it reads.
const Version = 1

const (
	headerLen  = len(Magic) + 4 + 8
	trailerLen = sha256.Size
)

// ErrInvalid is the kind of every refusal: the bytes are not a backup
// this version of orch restores.
var ErrInvalid = errors.New("backup: not a valid orch backup")

// Encode frames a snapshot as a backup.
func Encode(snap *orchpb.StateSnapshot) ([]byte, error) {
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("backup: encode snapshot at index %d: %w", snap.GetIndex(), err)
	}
	out := make([]byte, 0, headerLen+len(payload)+trailerLen)
	out = append(out, Magic...)
	out = binary.BigEndian.AppendUint32(out, Version)
	out = binary.BigEndian.AppendUint64(out, uint64(len(payload)))
	out = append(out, payload...)
	sum := sha256.Sum256(out)
	return append(out, sum[:]...), nil
}

// Decode checks a backup's magic, version, length and checksum, in that
// order, and returns the snapshot it holds. Every refusal wraps ErrInvalid
// and says what is wrong.
func Decode(data []byte) (*orchpb.StateSnapshot, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrInvalid)
	}
	if len(data) < len(Magic) || !bytes.Equal(data[:len(Magic)], []byte(Magic)) {
		return nil, fmt.Errorf("%w: it does not start with %q (write one with orchctl snapshot save)", ErrInvalid, Magic[:len(Magic)-1])
	}
	if len(data) < headerLen+trailerLen {
		return nil, fmt.Errorf("%w: truncated: %d bytes, shorter than an empty backup", ErrInvalid, len(data))
	}
	if v := binary.BigEndian.Uint32(data[len(Magic):]); v != Version {
		return nil, fmt.Errorf("%w: format version %d, this orchd reads version %d", ErrInvalid, v, Version)
	}
	length := binary.BigEndian.Uint64(data[len(Magic)+4:])
	if want := uint64(len(data) - headerLen - trailerLen); length != want {
		return nil, fmt.Errorf("%w: truncated or padded: the header says %d bytes of state, the file holds %d", ErrInvalid, length, want)
	}
	body := data[:len(data)-trailerLen]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(body):]) {
		return nil, fmt.Errorf("%w: checksum mismatch: the file was altered or damaged", ErrInvalid)
	}
	snap := &orchpb.StateSnapshot{}
	if err := proto.Unmarshal(body[headerLen:], snap); err != nil {
		return nil, fmt.Errorf("%w: the state does not decode: %w", ErrInvalid, err)
	}
	return snap, nil
}
