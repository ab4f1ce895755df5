// Package seal owns the masters' data key and what is done with it: sealing
// and opening secret values (AES-256-GCM), their keyed digest, and the key
// file in a master's data dir (docs/secrets.md). The key is never part of
// the replicated state, so the Raft log, snapshots and backups hold only
// ciphertext.
//
// It must not touch the store, Raft or the network: callers decide where
// sealed values go and who may see opened ones.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// KeySize is the data key's length: AES-256.
const KeySize = 32

const (
	formatV1 = 1
	idLen    = 8
)

// ErrWrongKey means a value was sealed under another data key than the one
// this master holds.
var ErrWrongKey = errors.New("seal: sealed with another data key")

// Key is a data key ready to seal and open. It is safe for concurrent use.
type Key struct {
	raw    []byte
	id     [idLen]byte
	aead   cipher.AEAD
	macKey []byte
}

// New returns the Key for raw (KeySize bytes).
func New(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("seal: data key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	k := &Key{raw: slices.Clone(raw), aead: aead}
	// The id and the digest key are derived one way, so neither says
	// anything about the key itself.
	sum := sha256.Sum256(append([]byte("orch data key id\x00"), raw...))
	copy(k.id[:], sum[:])
	mac := sha256.Sum256(append([]byte("orch data digest\x00"), raw...))
	k.macKey = mac[:]
	return k, nil
}

// Generate returns a new random key.
func Generate() (*Key, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("seal: generate data key: %w", err)
	}
	return New(raw)
}

// ID names the key (16 hex digits), for errors and logs.
func (k *Key) ID() string { return hex.EncodeToString(k.id[:]) }

// Bytes returns a copy of the raw key, for the key file and for a joining
// master.
func (k *Key) Bytes() []byte { return slices.Clone(k.raw) }

// Seal encrypts plain. context binds the value to where it belongs (the
// secret's namespace, name and key): a sealed value copied elsewhere does
// not open.
func (k *Key) Seal(context string, plain []byte) ([]byte, error) {
	out := make([]byte, 1+idLen, 1+idLen+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	out[0] = formatV1
	copy(out[1:], k.id[:])
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plain, []byte(context)), nil
}

// Open decrypts what Seal returned for the same context. A value sealed
// under another key gives an error that wraps ErrWrongKey.
func (k *Key) Open(context string, sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 1+idLen+ns+k.aead.Overhead() || sealed[0] != formatV1 {
		return nil, fmt.Errorf("seal: open %s: not a sealed value", context)
	}
	if !hmac.Equal(sealed[1:1+idLen], k.id[:]) {
		return nil, fmt.Errorf("open %s: sealed with data key %x, this master holds %s: %w",
			context, sealed[1:1+idLen], k.ID(), ErrWrongKey)
	}
	nonce := sealed[1+idLen : 1+idLen+ns]
	plain, err := k.aead.Open(nil, nonce, sealed[1+idLen+ns:], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("seal: open %s: %w", context, err)
	}
	return plain, nil
}

// SecretContext is what a secret's value is bound to when sealed: its
// namespace, name and key, so a sealed value copied to another secret or
// key does not open.
func SecretContext(namespace, name, key string) string {
	return namespace + "/" + name + "/" + key
}

// KeyIDOf returns the id of the key a value was sealed with, or "".
func KeyIDOf(sealed []byte) string {
	if len(sealed) < 1+idLen || sealed[0] != formatV1 {
		return ""
	}
	return hex.EncodeToString(sealed[1 : 1+idLen])
}

// Digest is a keyed hash (HMAC-SHA256) of a set of plain values: equal sets
// give equal digests, and without the key it tells nothing about them.
func (k *Key) Digest(data map[string][]byte) string {
	m := hmac.New(sha256.New, k.macKey)
	keys := make([]string, 0, len(data))
	for name := range data {
		keys = append(keys, name)
	}
	slices.Sort(keys)
	var n [8]byte
	for _, name := range keys {
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		m.Write(n[:])
		m.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(data[name])))
		m.Write(n[:])
		m.Write(data[name])
	}
	return hex.EncodeToString(m.Sum(nil))
}
