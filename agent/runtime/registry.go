package runtime

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
)

// WithInsecureRegistries lists registries (HOST or HOST:PORT) that may be
// reached without verified TLS: over HTTPS with any certificate, else over
// plain HTTP. Registries on loopback addresses always may.
func WithInsecureRegistries(hosts []string) Option {
	return func(c *Containerd) { c.insecure = append(c.insecure, hosts...) }
}

// resolver finds images in registries: HTTPS with verified certificates,
// except for loopback and the insecure list.
func (c *Containerd) resolver() remotes.Resolver {
	secure := docker.ConfigureDefaultRegistries()
	lax := docker.ConfigureDefaultRegistries(docker.WithClient(&http.Client{
		Transport: docker.DefaultHTTPTransport(&tls.Config{InsecureSkipVerify: true}), //nolint:gosec // the operator listed this registry as insecure
	}))
	plain := docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts))
	insecure := c.insecure
	hosts := func(host string) ([]docker.RegistryHost, error) {
		if !isInsecureRegistry(host, insecure) {
			return secure(host)
		}
		// The resolver tries hosts in order: HTTPS first (a registry with
		// a self-signed certificate), then plain HTTP.
		var out []docker.RegistryHost
		for _, f := range []docker.RegistryHosts{lax, plain} {
			h, err := f(host)
			if err != nil {
				return nil, err
			}
			out = append(out, h...)
		}
		return out, nil
	}
	return docker.NewResolver(docker.ResolverOptions{Hosts: hosts})
}

// isInsecureRegistry: host (as in an image reference, maybe with a port) is
// on loopback or listed, with or without its port.
func isInsecureRegistry(host string, insecure []string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if name == "localhost" {
		return true
	}
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, s := range insecure {
		s = strings.TrimSpace(s)
		if s != "" && (s == host || s == name) {
			return true
		}
	}
	return false
}
