package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/pki"
)

// Joiner is a master joining a cluster with a master join token. It trusts
// nothing but the CA digest in the token: it fetches the CA, checks it, and
// only then sends the token (the docker swarm scheme).
type Joiner struct {
	URLs  []string // masters of the cluster, any of them
	Token string   // a token of role master
}

// Credentials fetches the cluster CA (key included) from the first master
// that answers.
func (j *Joiner) Credentials(ctx context.Context) (*Credentials, error) {
	var errs []error
	for _, u := range j.URLs {
		creds, err := j.credentialsFrom(ctx, trimURL(u))
		if err == nil {
			return creds, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("peer: join: no master gave credentials: %w", errors.Join(errs...))
}

func (j *Joiner) credentialsFrom(ctx context.Context, base string) (*Credentials, error) {
	caPEM, err := FetchCA(ctx, base, j.Token)
	if err != nil {
		return nil, err
	}
	ca, err := pki.ParseCertPEM(caPEM)
	if err != nil {
		return nil, err
	}
	hc := j.client(caPEM)
	var creds Credentials
	if err := doJSON(ctx, hc, http.MethodGet, base+PathCredentials, j.Token, nil, &creds); err != nil {
		return nil, fmt.Errorf("peer: credentials from %s: %w", base, err)
	}
	// The same CA the token pins, and a key that belongs to it.
	parsed, err := pki.ParseCA([]byte(creds.CACertPEM), []byte(creds.CAKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("peer: credentials from %s: %w", base, err)
	}
	if parsed.Digest() != pki.CertDigest(ca.Raw) {
		return nil, fmt.Errorf("peer: credentials from %s: a CA other than the one the token pins", base)
	}
	return &creds, nil
}

// RequestMembership asks the cluster to record m and make it a voter,
// trying every master until one accepts (any of them forwards to the
// leader). It retries while the cluster has no leader, until ctx ends.
func (j *Joiner) RequestMembership(ctx context.Context, caPEM []byte, m Member) error {
	hc := j.client(caPEM)
	var last error
	for {
		for _, u := range j.URLs {
			err := doJSON(ctx, hc, http.MethodPost, trimURL(u)+PathMembers, j.Token, m, nil)
			if err == nil {
				return nil
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("peer: join as %s: %w (last error: %w)", m.ID, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// client trusts only masters certified by caPEM; it shows no certificate
// (the joiner has none yet): its token is the credential.
func (j *Joiner) client(caPEM []byte) *http.Client {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca, err := pki.ParseCACert(caPEM); err == nil {
		tc = ca.MasterClientTLS(nil)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: api.VersionTransport{Base: newTransport(tc)}}
}

// FetchCA downloads a master's CA certificate and checks it against the
// digest the join token carries, before the token is ever sent.
func FetchCA(ctx context.Context, base, token string) ([]byte, error) {
	want, err := pki.TokenCADigest(token)
	if err != nil {
		return nil, err
	}
	// Not trusted yet: the digest check below is the trust.
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, trimURL(base)+"/v1/ca", nil)
	if err != nil {
		return nil, err
	}
	resp, err := insecure.Do(req)
	if err != nil {
		return nil, fmt.Errorf("peer: fetch CA from %s: %w", base, err)
	}
	defer resp.Body.Close()
	pemBytes, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("peer: fetch CA from %s: %w", base, err)
	}
	caPEM, err := pki.AcceptServedCA(pemBytes, want)
	if err != nil {
		return nil, fmt.Errorf("peer: CA from %s: %w", base, err)
	}
	return caPEM, nil
}
