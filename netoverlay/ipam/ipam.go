package ipam

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
)

// Errors returned by the allocator, checked with errors.Is.
var (
	// ErrExhausted means every usable address of the subnet is taken.
	ErrExhausted = errors.New("ipam: subnet exhausted")
	// ErrBadSubnet means the subnet cannot be used for allocation.
	ErrBadSubnet = errors.New("ipam: unusable subnet")
)

// Allocator assigns addresses of one subnet to owners. It is safe for
// concurrent use; every change is written to disk before the call returns, so
// a crash never hands the same address to two owners after a restart.
type Allocator struct {
	mu      sync.Mutex
	subnet  netip.Prefix
	gateway netip.Addr
	path    string
	byOwner map[string]netip.Addr
	byAddr  map[netip.Addr]string
}

// Open loads (or creates) the allocator state for subnet in dir. The subnet
// must be IPv4 with a prefix length between 16 and 30, so it has room for a
// gateway and at least one replica and a bounded number of addresses.
func Open(dir string, subnet netip.Prefix, logger *slog.Logger) (*Allocator, error) {
	if logger == nil {
		logger = slog.Default()
	}
	subnet = subnet.Masked()
	if !subnet.IsValid() || !subnet.Addr().Is4() || subnet.Bits() < 16 || subnet.Bits() > 30 {
		return nil, fmt.Errorf("%w: %s (want IPv4, /16 to /30)", ErrBadSubnet, subnet)
	}
	a := &Allocator{
		subnet:  subnet,
		gateway: Gateway(subnet),
		path:    statePath(dir),
		byOwner: map[string]netip.Addr{},
		byAddr:  map[netip.Addr]string{},
	}
	st, found, err := load(a.path)
	if err != nil {
		return nil, err
	}
	if !found {
		return a, nil
	}
	if st.Subnet != subnet {
		// The node's subnet changed: old addresses are unroutable now, so keeping
		// them would only hide the problem.
		logger.Warn("ipam: subnet changed, dropping allocations",
			"path", a.path, "old", st.Subnet, "new", subnet, "dropped", len(st.Allocations))
		if err := a.saveLocked(); err != nil {
			return nil, err
		}
		return a, nil
	}
	for owner, addr := range st.Allocations {
		if !a.usable(addr) {
			logger.Warn("ipam: ignoring stored address outside the usable range",
				"path", a.path, "owner", owner, "addr", addr)
			continue
		}
		if other, taken := a.byAddr[addr]; taken {
			return nil, fmt.Errorf("ipam: state %s: address %s given to both %q and %q", a.path, addr, other, owner)
		}
		a.byOwner[owner] = addr
		a.byAddr[addr] = owner
	}
	return a, nil
}

// Gateway returns the address reserved for the bridge in subnet: its first
// host address (.1 of a /24).
func Gateway(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// Subnet returns the subnet addresses come from.
func (a *Allocator) Subnet() netip.Prefix { return a.subnet }

// Gateway returns the reserved gateway address of the allocator's subnet.
func (a *Allocator) Gateway() netip.Addr { return a.gateway }

// Allocate returns owner's address, assigning the lowest free one if owner
// has none yet. Calling it again for the same owner returns the same address.
func (a *Allocator) Allocate(owner string) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, errors.New("ipam: allocate: empty owner")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr, ok := a.byOwner[owner]; ok {
		return addr, nil
	}
	for addr := a.gateway.Next(); a.usable(addr); addr = addr.Next() {
		if _, taken := a.byAddr[addr]; taken {
			continue
		}
		a.byOwner[owner] = addr
		a.byAddr[addr] = owner
		if err := a.saveLocked(); err != nil {
			delete(a.byOwner, owner)
			delete(a.byAddr, addr)
			return netip.Addr{}, fmt.Errorf("ipam: allocate for %q: %w", owner, err)
		}
		return addr, nil
	}
	return netip.Addr{}, fmt.Errorf("%w: %s has no free address for %q", ErrExhausted, a.subnet, owner)
}

// Release frees owner's address. Releasing an owner without one is not an error.
func (a *Allocator) Release(owner string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	addr, ok := a.byOwner[owner]
	if !ok {
		return nil
	}
	delete(a.byOwner, owner)
	delete(a.byAddr, addr)
	if err := a.saveLocked(); err != nil {
		a.byOwner[owner] = addr
		a.byAddr[addr] = owner
		return fmt.Errorf("ipam: release %q: %w", owner, err)
	}
	return nil
}

// Lookup returns owner's address, if it has one.
func (a *Allocator) Lookup(owner string) (netip.Addr, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	addr, ok := a.byOwner[owner]
	return addr, ok
}

// Owners returns every owner holding an address, sorted.
func (a *Allocator) Owners() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	owners := make([]string, 0, len(a.byOwner))
	for o := range a.byOwner {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	return owners
}

// Reset drops every allocation and removes the state file.
func (a *Allocator) Reset() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.byOwner = map[string]netip.Addr{}
	a.byAddr = map[netip.Addr]string{}
	return remove(a.path)
}

// Forget removes the allocation state kept in dir, if any, without
// reading it.
func Forget(dir string) error {
	if dir == "" {
		return nil
	}
	return remove(statePath(dir))
}

// usable reports whether addr may be handed to a replica: inside the subnet,
// after the gateway and before the broadcast address.
func (a *Allocator) usable(addr netip.Addr) bool {
	if !a.subnet.Contains(addr) || addr.Compare(a.gateway) <= 0 {
		return false
	}
	return a.subnet.Contains(addr.Next()) // the last address is the broadcast
}

func (a *Allocator) saveLocked() error {
	return save(a.path, state{Subnet: a.subnet, Allocations: a.byOwner})
}
