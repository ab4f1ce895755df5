package ipam

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustOpen(t *testing.T, dir, subnet string) *Allocator {
	t.Helper()
	a, err := Open(dir, netip.MustParsePrefix(subnet), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%s): %v", subnet, err)
	}
	return a
}

func TestOpenRejectsBadSubnets(t *testing.T) {
	for _, s := range []string{"fd00::/64", "10.0.0.0/8", "10.0.0.0/31", "10.0.0.0/32"} {
		t.Run(s, func(t *testing.T) {
			_, err := Open(t.TempDir(), netip.MustParsePrefix(s), nil)
			if !errors.Is(err, ErrBadSubnet) {
				t.Fatalf("Open(%s) = %v, want ErrBadSubnet", s, err)
			}
		})
	}
	if _, err := Open(t.TempDir(), netip.Prefix{}, nil); !errors.Is(err, ErrBadSubnet) {
		t.Fatalf("Open(zero prefix) = %v, want ErrBadSubnet", err)
	}
}

func TestAllocateOrderAndIdempotence(t *testing.T) {
	a := mustOpen(t, t.TempDir(), "10.244.3.0/24")
	if got, want := a.Gateway(), netip.MustParseAddr("10.244.3.1"); got != want {
		t.Fatalf("Gateway = %s, want %s", got, want)
	}
	steps := []struct {
		owner string
		want  string
	}{
		{"r1", "10.244.3.2"},
		{"r2", "10.244.3.3"},
		{"r1", "10.244.3.2"}, // same owner, same address
		{"r3", "10.244.3.4"},
	}
	for _, s := range steps {
		got, err := a.Allocate(s.owner)
		if err != nil {
			t.Fatalf("Allocate(%s): %v", s.owner, err)
		}
		if got.String() != s.want {
			t.Fatalf("Allocate(%s) = %s, want %s", s.owner, got, s.want)
		}
	}
	if err := a.Release("r2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Lookup("r2"); ok {
		t.Fatal("Lookup(r2) found an address after Release")
	}
	if err := a.Release("r2"); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	// The freed address is the lowest free one and is reused.
	if got, _ := a.Allocate("r4"); got.String() != "10.244.3.3" {
		t.Fatalf("Allocate(r4) = %s, want the freed 10.244.3.3", got)
	}
	if got, ok := a.Lookup("r3"); !ok || got.String() != "10.244.3.4" {
		t.Fatalf("Lookup(r3) = %s, %v", got, ok)
	}
	if got := strings.Join(a.Owners(), ","); got != "r1,r3,r4" {
		t.Fatalf("Owners = %s", got)
	}
	if _, err := a.Allocate(""); err == nil {
		t.Fatal("Allocate(\"\") succeeded")
	}
}

func TestExhaustionSkipsReservedAddresses(t *testing.T) {
	// A /29 has 8 addresses: network, gateway, 5 usable, broadcast.
	a := mustOpen(t, t.TempDir(), "10.244.9.8/29")
	var got []string
	for i := range 5 {
		addr, err := a.Allocate(fmt.Sprint("r", i))
		if err != nil {
			t.Fatalf("Allocate #%d: %v", i, err)
		}
		got = append(got, addr.String())
	}
	want := "10.244.9.10,10.244.9.11,10.244.9.12,10.244.9.13,10.244.9.14"
	if strings.Join(got, ",") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if _, err := a.Allocate("one-too-many"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Allocate past the end = %v, want ErrExhausted", err)
	}
}

func TestFullSlash24(t *testing.T) {
	a := mustOpen(t, t.TempDir(), "10.244.7.0/24")
	seen := map[netip.Addr]bool{}
	for i := range 253 {
		addr, err := a.Allocate(fmt.Sprint("r", i))
		if err != nil {
			t.Fatalf("Allocate #%d: %v", i, err)
		}
		if seen[addr] {
			t.Fatalf("address %s handed out twice", addr)
		}
		seen[addr] = true
	}
	for _, reserved := range []string{"10.244.7.0", "10.244.7.1", "10.244.7.255"} {
		if seen[netip.MustParseAddr(reserved)] {
			t.Fatalf("reserved address %s was handed out", reserved)
		}
	}
	if _, err := a.Allocate("r253"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("254th Allocate = %v, want ErrExhausted", err)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, dir, "10.244.3.0/24")
	ip1, _ := a.Allocate("r1")
	ip2, _ := a.Allocate("r2")
	if err := a.Release("r1"); err != nil {
		t.Fatal(err)
	}

	b := mustOpen(t, dir, "10.244.3.0/24")
	if _, ok := b.Lookup("r1"); ok {
		t.Fatal("released owner r1 came back after reopen")
	}
	if got, ok := b.Lookup("r2"); !ok || got != ip2 {
		t.Fatalf("after reopen Lookup(r2) = %s,%v, want %s", got, ok, ip2)
	}
	if got, _ := b.Allocate("r3"); got != ip1 {
		t.Fatalf("after reopen Allocate(r3) = %s, want the free %s", got, ip1)
	}
	// No temp files are left behind by the atomic writes.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != stateFile {
		t.Fatalf("state dir holds %v, want only %s", entries, stateFile)
	}
}

func TestSubnetChangeResets(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, dir, "10.244.3.0/24")
	if _, err := a.Allocate("r1"); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	b, err := Open(dir, netip.MustParsePrefix("10.244.4.0/24"), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Lookup("r1"); ok {
		t.Fatal("allocation of the old subnet survived a subnet change")
	}
	if !strings.Contains(logs.String(), "subnet changed") {
		t.Fatalf("subnet change was not logged: %q", logs.String())
	}
	if got, _ := b.Allocate("r2"); got.String() != "10.244.4.2" {
		t.Fatalf("Allocate in new subnet = %s", got)
	}
	// And the reset is persisted.
	c := mustOpen(t, dir, "10.244.4.0/24")
	if got := c.Owners(); len(got) != 1 || got[0] != "r2" {
		t.Fatalf("owners after reopen = %v, want [r2]", got)
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, netip.MustParsePrefix("10.244.3.0/24"), nil); err == nil {
		t.Fatal("Open of a corrupt state succeeded")
	}
}

func TestDuplicateAddressInStateIsAnError(t *testing.T) {
	dir := t.TempDir()
	body := `{"subnet":"10.244.3.0/24","allocations":{"a":"10.244.3.2","b":"10.244.3.2"}}`
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, netip.MustParsePrefix("10.244.3.0/24"), nil); err == nil {
		t.Fatal("Open of a state with a duplicate address succeeded")
	}
}

func TestResetRemovesState(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, dir, "10.244.3.0/24")
	a.Allocate("r1")
	if err := a.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); !os.IsNotExist(err) {
		t.Fatalf("state file still there after Reset: %v", err)
	}
	if len(a.Owners()) != 0 {
		t.Fatal("owners left after Reset")
	}
}

func TestConcurrentAllocateIsUnique(t *testing.T) {
	a := mustOpen(t, t.TempDir(), "10.244.3.0/24")
	var wg sync.WaitGroup
	addrs := make([]netip.Addr, 50)
	for i := range addrs {
		wg.Go(func() {
			addr, err := a.Allocate(fmt.Sprint("r", i))
			if err != nil {
				t.Error(err)
			}
			addrs[i] = addr
		})
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for _, addr := range addrs {
		if seen[addr] {
			t.Fatalf("address %s handed out twice", addr)
		}
		seen[addr] = true
	}
}
