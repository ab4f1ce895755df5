// Package iptables keeps a node's overlay rules: forwarding of cluster
// traffic through the bridge and the VXLAN device, the overlay's UDP port
// open to peer nodes only, masquerade of traffic leaving the cluster CIDR,
// and DNAT of published host ports to replicas.
//
// Every rule lives in chains of its own, named after the node's bridge
// (ORCH-FWD-orch0, ORCH-MASQ-orch0, ORCH-HP-orch0) and VXLAN device
// (ORCH-VXLAN-orchvx0), reached by one jump each from the built-in chains.
// A sync rewrites its chains atomically with iptables-restore --noflush and
// leaves every other chain and rule alone; Delete removes the jumps and the
// chains and nothing else. It runs the iptables binaries of the machine
// (nft or legacy, whichever `iptables` is) in the network namespace of the
// calling process, or under the Command prefix it is given (nsenter, for
// tests).
package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Tables runs iptables for one network.
type Tables struct {
	chains Chains
	// command is put before every iptables binary (e.g. nsenter --net=...).
	command []string
}

// New returns Tables for chains. command, when not empty, is a prefix every
// iptables command runs under.
func New(chains Chains, command ...string) *Tables {
	return &Tables{chains: chains, command: command}
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

// Sync makes the chains hold r and the jumps r needs exist (and no other
// jump to them), unless they already do. It reports whether it changed
// anything. It runs on every sync of the network (every 2 s), so an
// unchanged state costs one iptables-save per table and nothing else.
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
	jumps := t.chains.jumps(r)
	for _, j := range jumps {
		added, err := t.ensureJump(ctx, saved[j.table], j)
		if err != nil {
			return changed, err
		}
		changed = changed || added
	}
	removed, err := t.deleteJumps(ctx, saved, func(j jump) bool { return !slices.ContainsFunc(jumps, j.same) })
	return changed || removed, err
}

// ensureJump adds j unless saved (or iptables itself) shows it.
func (t *Tables) ensureJump(ctx context.Context, saved []byte, j jump) (bool, error) {
	if hasRule(saved, j.rule()) {
		return false, nil
	}
	// iptables-save may spell a rule differently from us: ask iptables
	// itself before adding a second copy.
	check := append([]string{"-w", "-t", j.table, "-C", j.chain}, j.args...)
	if _, err := t.run(ctx, nil, "iptables", check...); err == nil {
		return false, nil
	}
	// Inserted first: a FORWARD policy of DROP with rules of its own
	// (docker's) would otherwise decide before ours.
	insert := append([]string{"-w", "-t", j.table, "-I", j.chain, "1"}, j.args...)
	if _, err := t.run(ctx, nil, "iptables", insert...); err != nil {
		return false, fmt.Errorf("iptables: jump %s/%s: %w", j.table, j.chain, err)
	}
	return true, nil
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

// same reports whether saved, a jump read back from iptables-save, is j:
// the same built-in chain and target, and for the VXLAN jump the same port.
// Spelling aside, so that a jump iptables prints its own way is not taken
// for a stale one.
func (j jump) same(saved jump) bool {
	return j.table == saved.table && j.chain == saved.chain && j.target() == saved.target() &&
		j.port() == saved.port()
}

func (j jump) target() string { return argAfter(j.args, "-j") }
func (j jump) port() string   { return argAfter(j.args, "--dport") }

func argAfter(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// savedJumps are the rules of built-in (or anyone else's) chains in saved
// that jump to ours.
func (c Chains) savedJumps(saved map[string][]byte) []jump {
	var out []jump
	for _, table := range []string{"filter", "nat"} {
		for line := range strings.Lines(string(saved[table])) {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "-A" || c.owns(f[1]) {
				continue
			}
			if j := (jump{table, f[1], f[2:]}); c.owns(j.target()) {
				out = append(out, j)
			}
		}
	}
	return out
}

// deleteJumps deletes the saved jumps to our chains that stale says must
// go (every copy: a crash mid-sync may have inserted one twice).
func (t *Tables) deleteJumps(ctx context.Context, saved map[string][]byte, stale func(jump) bool) (bool, error) {
	var errs []error
	deleted := false
	for _, j := range t.chains.savedJumps(saved) {
		if !stale(j) {
			continue
		}
		del := append([]string{"-w", "-t", j.table, "-D", j.chain}, j.args...)
		if _, err := t.run(ctx, nil, "iptables", del...); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = true
	}
	if err := errors.Join(errs...); err != nil {
		return deleted, fmt.Errorf("iptables: delete jumps to %s: %w", t.chains.Forward, err)
	}
	return deleted, nil
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
	saved, err := t.save(ctx)
	if err != nil {
		return fmt.Errorf("iptables: delete chains of %s: %w", t.chains.Forward, err)
	}
	_, jumpErr := t.deleteJumps(ctx, saved, func(jump) bool { return true })
	errs := []error{jumpErr}
	for _, c := range t.chains.ours() {
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
