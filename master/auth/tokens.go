package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// Role is what a bearer token may do.
type Role string

// Roles, from most to least powerful. An agent token (the join token) only
// registers a new node and fetches images; a reader may only read.
// RoleNode is no token's: it is the caller that presented a node's client
// certificate, and the agent channel's handlers then check that the node
// it names is the one the request is about.
const (
	RoleAdmin  Role = "admin"
	RoleMaster Role = "master"
	RoleAgent  Role = "agent"
	RoleReader Role = "reader"
	RoleNode   Role = "node"
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
	case r == RoleNode:
		// A registered node does what its join token did (register
		// again, fetch images) and its own node's calls.
		return need == RoleAgent
	}
	return false
}

// ErrUnauthenticated is returned for a missing or unknown token.
var ErrUnauthenticated = errors.New("auth: invalid or missing token")

// ErrCannotTell is returned for a token this master does not know while it
// cannot catch up with the cluster (no leader, or not within
// catchUpTimeout): the token may have been created in what it has not
// applied yet, so the caller is told to try again, not that the token is
// invalid. It is not an ErrUnauthenticated.
var ErrCannotTell = errors.New("auth: this master cannot check the token now: it has not caught up with the cluster")

// ErrExpired is returned for a token past its expiry; it is an
// ErrUnauthenticated.
var ErrExpired = fmt.Errorf("%w: token expired", ErrUnauthenticated)

// TokenTable is where the digests of the accepted tokens live: the
// replicated store, so that every master accepts the same tokens.
type TokenTable interface {
	// Token returns the token whose hex SHA-256 is digest, or nil.
	Token(digest string) *orchpb.Token
}

// Tokens authenticates bearer tokens against a TokenTable.
type Tokens struct {
	table TokenTable
	// catchUp, when set, waits for a read barrier when a token is unknown:
	// a token created a moment ago on the leader may not have reached this
	// master yet.
	catchUp *catchUps
	// now is the clock expiry is checked against, at every request: an
	// expired token needs no write to be refused on every master.
	now  func() time.Time
	used usage
}

// catchUpTimeout bounds the wait for a lagging master to catch up before a
// token is refused.
const catchUpTimeout = 2 * time.Second

// Option changes how Tokens works.
type Option func(*Tokens)

// WithClock makes Tokens read the time from now (tests).
func WithClock(now func() time.Time) Option {
	return func(t *Tokens) { t.now = now }
}

// NewTokens authenticates against table. catchUp, which returns when the
// table reflects every committed write, may be nil.
func NewTokens(table TokenTable, catchUp func(ctx context.Context) error, opts ...Option) *Tokens {
	t := &Tokens{table: table, now: time.Now}
	if catchUp != nil {
		t.catchUp = &catchUps{barrier: catchUp}
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Authenticate returns the role of a token. A revoked token is unknown to
// a table that applied the revoke, so it is refused like a wrong one.
func (t *Tokens) Authenticate(token string) (Role, error) {
	if token == "" || !strings.HasPrefix(token, pki.TokenPrefix) {
		return "", ErrUnauthenticated
	}
	digest := pki.TokenDigest(token)
	e := t.table.Token(digest)
	if e == nil && t.catchUp != nil {
		if err := t.catchUp.wait(); err != nil {
			return "", fmt.Errorf("%w: %w", ErrCannotTell, err)
		}
		e = t.table.Token(digest)
	}
	if e == nil {
		return "", ErrUnauthenticated
	}
	now := t.now()
	if ms := e.GetExpiresAt(); ms != 0 && now.UnixMilli() >= ms {
		return "", ErrExpired
	}
	t.used.record(e.GetId(), now)
	return Role(e.GetRole()), nil
}

// NewToken makes a new secret token for role, carrying caDigest so that a
// joiner can pin the CA. The caller stores digest (through Raft); the token
// itself is shown once and never stored.
func NewToken(caDigest string, role Role) (token, digest string, err error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", "", err
	}
	var secret [24]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", "", fmt.Errorf("auth: token secret: %w", err)
	}
	token = pki.TokenPrefix + caDigest + "-" + string(role) + "-" + hex.EncodeToString(secret[:])
	return token, pki.TokenDigest(token), nil
}

type tokenFile struct {
	Tokens []tokenEntry `json:"tokens"`
}

type tokenEntry struct {
	Role Role   `json:"role"`
	Hash string `json:"sha256"`
}

// ReadLegacyTokens reads DIR/tokens.json, where masters before replicated
// credentials kept token digests, so they can be moved into the store. An
// absent file gives an empty map.
func ReadLegacyTokens(dir string) (map[string]Role, error) {
	path := filepath.Join(dir, "tokens.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Role{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read tokens: %w", err)
	}
	var f tokenFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("auth: parse %s: %w", path, err)
	}
	out := make(map[string]Role, len(f.Tokens))
	for _, e := range f.Tokens {
		out[e.Hash] = e.Role
	}
	return out, nil
}
