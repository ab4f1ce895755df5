package pki

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// TokenPrefix starts every orch token, followed by the digest of the CA it
// belongs to, the role and the secret: ORCH-1-CADIGEST-ROLE-SECRET.
const TokenPrefix = "ORCH-1-"

// TokenDigest is the hex SHA-256 under which a token is stored.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenCADigest extracts the CA digest a token carries, so a joiner can
// verify the master's CA before sending the token.
func TokenCADigest(token string) (string, error) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", fmt.Errorf("pki: token does not start with %s", TokenPrefix)
	}
	digest, _, ok := strings.Cut(rest, "-")
	if !ok || len(digest) != 64 {
		return "", errors.New("pki: token has no CA digest")
	}
	return digest, nil
}
