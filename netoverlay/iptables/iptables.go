// Package iptables keeps a node's overlay rules: forwarding of cluster
// traffic, masquerade of traffic leaving the cluster CIDR, and DNAT of
// published host ports to replicas.
//
// Every rule lives in chains of its own, named after the node's bridge
// (ORCH-FWD-orch0, ORCH-MASQ-orch0, ORCH-HP-orch0), reached by one jump
// each from the built-in chains. A sync rewrites its chains atomically with
// iptables-restore --noflush and leaves every other chain and rule alone;
// Delete removes the jumps and the chains and nothing else. It runs the
// iptables binaries of the machine (nft or legacy, whichever `iptables` is)
// in the network namespace of the calling process, or under the Command
// prefix it is given (nsenter, for tests).
package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// HostPort is one published port: traffic to any local address of the node
// on HostPort goes to IP:Port.
type HostPort struct {
	Protocol string // tcp or udp
	HostPort int
	IP       netip.Addr
	Port     int
}

// Rules is what the node's chains must hold.
type Rules struct {
	// ClusterCIDR is the whole overlay; forwarding to and from it is allowed.
	ClusterCIDR netip.Prefix
	// Subnet is this node's part of it (for hairpin of host ports).
	Subnet netip.Prefix
	// Masquerade rewrites the source of traffic from the cluster CIDR to
	// destinations outside it to the node's own address.
	Masquerade bool
	HostPorts  []HostPort
}

// Chains are the names of one node's chains.
type Chains struct {
	Forward, Masquerade, HostPorts string
}

// ChainsFor names the chains of the network whose bridge is bridge.
func ChainsFor(bridge string) Chains {
	return Chains{Forward: "ORCH-FWD-" + bridge, Masquerade: "ORCH-MASQ-" + bridge, HostPorts: "ORCH-HP-" + bridge}
}

// jump is one rule in a built-in chain that sends traffic to ours.
type jump struct {
	table, chain string
	args         []string
}

func (c Chains) jumps() []jump {
	return []jump{
		{"filter", "FORWARD", []string{"-j", c.Forward}},
		{"nat", "POSTROUTING", []string{"-j", c.Masquerade}},
		{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", c.HostPorts}},
		// Not loopback: DNAT of 127.0.0.1 would need route_localnet.
		{"nat", "OUTPUT", []string{"!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j", c.HostPorts}},
	}
}

// Render returns the iptables-restore input that makes the chains hold
// exactly r: each chain is declared (which empties it) and refilled.
func Render(c Chains, r Rules) []byte {
	var b bytes.Buffer
	cluster := r.ClusterCIDR.Masked().String()
	b.WriteString("*filter\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", c.Forward)
	fmt.Fprintf(&b, "-A %s -s %s -j ACCEPT\n", c.Forward, cluster)
	fmt.Fprintf(&b, "-A %s -d %s -j ACCEPT\n", c.Forward, cluster)
	b.WriteString("COMMIT\n*nat\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", c.Masquerade)
	fmt.Fprintf(&b, ":%s - [0:0]\n", c.HostPorts)
	if r.Subnet.IsValid() {
		// A replica reaching a host port that lands on a replica of the same
		// bridge: without rewriting the source, the answer would go back
		// directly, bypassing the DNAT.
		sub := r.Subnet.Masked().String()
		fmt.Fprintf(&b, "-A %s -s %s -d %s -m conntrack --ctstate DNAT -j MASQUERADE\n", c.Masquerade, sub, sub)
	}
	if r.Masquerade {
		fmt.Fprintf(&b, "-A %s -s %s -d %s -j RETURN\n", c.Masquerade, cluster, cluster)
		fmt.Fprintf(&b, "-A %s -s %s -d 224.0.0.0/4 -j RETURN\n", c.Masquerade, cluster)
		fmt.Fprintf(&b, "-A %s -s %s -j MASQUERADE\n", c.Masquerade, cluster)
	}
	hps := slices.Clone(r.HostPorts)
	slices.SortFunc(hps, func(a, b HostPort) int {
		if a.Protocol != b.Protocol {
			return strings.Compare(a.Protocol, b.Protocol)
		}
		return a.HostPort - b.HostPort
	})
	for _, hp := range hps {
		proto := strings.ToLower(hp.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		fmt.Fprintf(&b, "-A %s -p %s -m %s --dport %d -j DNAT --to-destination %s\n",
			c.HostPorts, proto, proto, hp.HostPort, netip.AddrPortFrom(hp.IP, uint16(hp.Port)))
	}
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// Tables runs iptables for one network.
type Tables struct {
	chains Chains
	// command is put before every iptables binary (e.g. nsenter --net=...).
	command []string
}

// New returns Tables for the chains of bridge. command, when not empty, is
// a prefix every iptables command runs under.
func New(bridge string, command ...string) *Tables {
	return &Tables{chains: ChainsFor(bridge), command: command}
}

func (t *Tables) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	argv := append(slices.Clone(t.command), name)
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Sync makes the chains hold r and the jumps exist, unless they already do.
// It reports whether it changed anything. It runs on every sync of the
// network (every 2 s), so an unchanged state costs one iptables-save per
// table and nothing else.
func (t *Tables) Sync(ctx context.Context, r Rules) (bool, error) {
	want := Render(t.chains, r)
	saved, err := t.save(ctx)
	if err != nil {
		return false, err
	}
	changed := false
	have := rulesByChain(slices.Concat(saved["filter"], saved["nat"]), t.chains)
	if !maps.EqualFunc(rulesByChain(want, t.chains), have, slices.Equal) {
		if _, err := t.run(ctx, want, "iptables-restore", "--noflush", "-w"); err != nil {
			return false, fmt.Errorf("iptables: write chains %s: %w", t.chains.Forward, err)
		}
		changed = true
	}
	for _, j := range t.chains.jumps() {
		if hasRule(saved[j.table], j.rule()) {
			continue
		}
		// iptables-save may spell a rule differently from us: ask iptables
		// itself before adding a second copy.
		check := append([]string{"-w", "-t", j.table, "-C", j.chain}, j.args...)
		if _, err := t.run(ctx, nil, "iptables", check...); err == nil {
			continue
		}
		// Inserted first: a FORWARD policy of DROP with rules of its own
		// (docker's) would otherwise decide before ours.
		insert := append([]string{"-w", "-t", j.table, "-I", j.chain, "1"}, j.args...)
		if _, err := t.run(ctx, nil, "iptables", insert...); err != nil {
			return changed, fmt.Errorf("iptables: jump %s/%s: %w", j.table, j.chain, err)
		}
		changed = true
	}
	return changed, nil
}

// save returns iptables-save's output for each table we keep rules in.
func (t *Tables) save(ctx context.Context) (map[string][]byte, error) {
	out := make(map[string][]byte, 2)
	for _, table := range []string{"filter", "nat"} {
		b, err := t.run(ctx, nil, "iptables-save", "-t", table)
		if err != nil {
			return nil, fmt.Errorf("iptables: read %s table: %w", table, err)
		}
		out[table] = b
	}
	return out, nil
}

// rule is the jump as iptables-save prints it.
func (j jump) rule() string {
	return strings.Join(append([]string{"-A", j.chain}, j.args...), " ")
}

// hasRule reports whether iptables-save output holds rule, spacing aside.
func hasRule(saved []byte, rule string) bool {
	for line := range strings.Lines(string(saved)) {
		if strings.Join(strings.Fields(line), " ") == rule {
			return true
		}
	}
	return false
}

func (c Chains) owns(chain string) bool {
	return chain == c.Forward || chain == c.Masquerade || chain == c.HostPorts
}

// rulesByChain returns the "-A CHAIN ..." lines of our chains, by chain, in
// order, with spacing normalised. Render writes rules the way iptables-save
// prints them, so its output and the kernel's state compare equal when they
// hold the same rules; iptables-save orders chains by name, hence the map.
func rulesByChain(text []byte, c Chains) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(string(text), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 1 && strings.HasPrefix(f[0], ":") && c.owns(f[0][1:]):
			// A declared chain is a key even when empty, so a chain deleted
			// by hand shows as missing.
			if _, ok := out[f[0][1:]]; !ok {
				out[f[0][1:]] = []string{}
			}
		case len(f) >= 2 && f[0] == "-A" && c.owns(f[1]):
			out[f[1]] = append(out[f[1]], strings.Join(f, " "))
		}
	}
	return out
}

// Delete removes the jumps and the chains. Missing ones are not an error.
func (t *Tables) Delete(ctx context.Context) error {
	var errs []error
	for _, j := range t.chains.jumps() {
		for range 10 { // a jump inserted twice by a crash mid-sync
			del := append([]string{"-w", "-t", j.table, "-D", j.chain}, j.args...)
			if _, err := t.run(ctx, nil, "iptables", del...); err != nil {
				break
			}
		}
	}
	for _, c := range []struct{ table, chain string }{
		{"filter", t.chains.Forward}, {"nat", t.chains.Masquerade}, {"nat", t.chains.HostPorts},
	} {
		if _, err := t.run(ctx, nil, "iptables", "-w", "-t", c.table, "-L", c.chain, "-n"); err != nil {
			continue // no such chain
		}
		if _, err := t.run(ctx, nil, "iptables", "-w", "-t", c.table, "-F", c.chain); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := t.run(ctx, nil, "iptables", "-w", "-t", c.table, "-X", c.chain); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("iptables: delete chains of %s: %w", t.chains.Forward, err)
	}
	return nil
}

// Present reports which of our chains and jumps exist, for tests and
// cleanup checks.
func (t *Tables) Present(ctx context.Context) ([]string, error) {
	saved, err := t.save(ctx)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, table := range []string{"filter", "nat"} {
		for line := range strings.Lines(string(saved[table])) {
			line = strings.TrimSuffix(line, "\n")
			f := strings.Fields(line)
			switch {
			case len(f) >= 1 && strings.HasPrefix(f[0], ":") && t.chains.owns(strings.TrimPrefix(f[0], ":")):
				found = append(found, table+" chain "+strings.TrimPrefix(f[0], ":"))
			case len(f) >= 2 && f[0] == "-A" && !t.chains.owns(f[1]) && slices.ContainsFunc(f, t.chains.owns):
				found = append(found, table+" jump "+strconv.Quote(line))
			}
		}
	}
	return found, nil
}
