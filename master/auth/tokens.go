package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Role is what a bearer token may do.
type Role string

// Roles, from most to least powerful. An agent may only touch its own node
// and replicas; a reader may only read.
const (
	RoleAdmin  Role = "admin"
	RoleMaster Role = "master"
	RoleAgent  Role = "agent"
	RoleReader Role = "reader"
)

// ParseRole accepts the role names of `orchctl token create --role`.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleMaster, RoleAgent, RoleReader:
		return r, nil
	}
	return "", fmt.Errorf("auth: unknown role %q (want admin, master, agent or reader)", s)
}

// Allows reports whether a holder of role r may call an endpoint that needs
// role need. Admin may do everything; reads need only reader.
func (r Role) Allows(need Role) bool {
	switch {
	case r == need, r == RoleAdmin:
		return true
	case need == RoleReader:
		return r == RoleMaster
	case r == RoleMaster:
		// Masters act for agents when they forward their calls.
		return need == RoleAgent
	}
	return false
}

// ErrUnauthenticated is returned for a missing or unknown token.
var ErrUnauthenticated = errors.New("auth: invalid or missing token")

const tokenPrefix = "ORCH-1-"

// Tokens is the set of bearer tokens the cluster accepts. Only SHA-256
// digests of the secrets are kept on disk.
type Tokens struct {
	mu       sync.RWMutex
	path     string
	caDigest string
	byHash   map[string]Role
}

type tokenFile struct {
	Tokens []tokenEntry `json:"tokens"`
}

type tokenEntry struct {
	Role Role   `json:"role"`
	Hash string `json:"sha256"`
}

// OpenTokens loads the token file in dir (an absent file is an empty set).
// caDigest goes into every token made, so joiners can pin the CA.
func OpenTokens(dir, caDigest string) (*Tokens, error) {
	t := &Tokens{path: filepath.Join(dir, "tokens.json"), caDigest: caDigest, byHash: map[string]Role{}}
	data, err := os.ReadFile(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read tokens: %w", err)
	}
	var f tokenFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("auth: parse %s: %w", t.path, err)
	}
	for _, e := range f.Tokens {
		t.byHash[e.Hash] = e.Role
	}
	return t, nil
}

// Create makes a new token for role and persists its digest.
func (t *Tokens) Create(role Role) (string, error) {
	var secret [24]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", fmt.Errorf("auth: token secret: %w", err)
	}
	token := tokenPrefix + t.caDigest + "-" + string(role) + "-" + hex.EncodeToString(secret[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byHash[hashToken(token)] = role
	if err := t.saveLocked(); err != nil {
		delete(t.byHash, hashToken(token))
		return "", err
	}
	return token, nil
}

// Authenticate returns the role of a token.
func (t *Tokens) Authenticate(token string) (Role, error) {
	if token == "" {
		return "", ErrUnauthenticated
	}
	t.mu.RLock()
	role, ok := t.byHash[hashToken(token)]
	t.mu.RUnlock()
	if !ok {
		return "", ErrUnauthenticated
	}
	return role, nil
}

func (t *Tokens) saveLocked() error {
	var f tokenFile
	for h, r := range t.byHash {
		f.Tokens = append(f.Tokens, tokenEntry{Role: r, Hash: h})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("auth: encode tokens: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return writeFileAtomic(t.path, data, 0o600)
}

// TokenCADigest extracts the CA digest a token carries, so a joiner can
// verify the master's CA before sending the token.
func TokenCADigest(token string) (string, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", fmt.Errorf("auth: token does not start with %s", tokenPrefix)
	}
	digest, _, ok := strings.Cut(rest, "-")
	if !ok || len(digest) != 64 {
		return "", errors.New("auth: token has no CA digest")
	}
	return digest, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
