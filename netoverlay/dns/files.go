package dns

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// ResolvConf is the /etc/resolv.conf of a replica in namespace: the node's
// server, and the search list that makes the short SERVICE name work within
// the namespace and SERVICE.OTHERNAMESPACE across namespaces.
func ResolvConf(nameserver netip.Addr, namespace, domain string) []byte {
	if domain == "" {
		domain = DefaultDomain
	}
	domain = strings.TrimSuffix(domain, ".")
	return []byte(fmt.Sprintf("# written by orch: the node's DNS server answers SERVICE.NAMESPACE.%[3]s and forwards the rest\n"+
		"nameserver %[1]s\nsearch %[2]s.%[3]s %[3]s\n", nameserver, namespace, domain))
}

// Hosts is the /etc/hosts of a replica: loopback, and its own address under
// its display name (SERVICE.SLOT, also its hostname) and its DNS name.
func Hosts(ip netip.Addr, displayName, fqdn string) []byte {
	var b strings.Builder
	b.WriteString("# written by orch\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if ip.IsValid() {
		fmt.Fprintf(&b, "%s\t%s", ip, displayName)
		if fqdn != "" {
			fmt.Fprintf(&b, " %s", strings.TrimSuffix(fqdn, "."))
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// SlotName is the DNS name of one replica: SLOT.SERVICE.NAMESPACE.DOMAIN.
func SlotName(slot int, service, namespace, domain string) string {
	if domain == "" {
		domain = DefaultDomain
	}
	return strconv.Itoa(slot) + "." + service + "." + namespace + "." + strings.TrimSuffix(domain, ".")
}

// Upstreams reads the nameservers of a resolv.conf file as HOST:PORT,
// leaving out self (the server's own address), which would loop. A missing
// file means no upstreams.
func Upstreams(path string, self netip.Addr) ([]string, error) {
	cfg, err := mdns.ClientConfigFromFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dns: read upstreams from %s: %w", path, err)
	}
	var out []string
	for _, s := range cfg.Servers {
		if a, err := netip.ParseAddr(s); err == nil && a.Unmap() == self {
			continue
		}
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out, nil
}
