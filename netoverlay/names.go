package netoverlay

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/orch-io/orch/netoverlay/vxlan"
)

// replicaIf is the name of the replica's interface inside its namespace.
const replicaIf = "eth0"

// hostVethPrefix starts the host end of every replica veth. Interface names
// are limited to 15 bytes, so a replica id (of any length) is hashed.
const hostVethPrefix = "ov"

// shortID is a 10 hex digit hash of the replica id. The bridge and the
// namespace prefix are hashed in, so two networks on one machine (tests, a
// hollow node next to a real one) never collide on a veth name.
func (n *Network) shortID(replicaID string) string {
	h := sha256.Sum256([]byte(n.cfg.BridgeName + "\x00" + n.cfg.NetNSPrefix + "\x00" + replicaID))
	return hex.EncodeToString(h[:5])
}

func (n *Network) hostVethName(replicaID string) string {
	return hostVethPrefix + n.shortID(replicaID)
}

func (n *Network) netnsName(replicaID string) string {
	return n.cfg.NetNSPrefix + n.shortID(replicaID)
}

// vxlanNameFor ties the VXLAN device's name to the bridge's.
func vxlanNameFor(bridge string) string {
	if bridge == DefaultBridgeName {
		return vxlan.DefaultName
	}
	return bridge[:min(len(bridge), 13)] + "vx"
}
