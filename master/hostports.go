package master

import (
	"fmt"
	"net"
	"strconv"

	"github.com/orch-io/orch/master/apiserver"
)

// hostPortPolicy is --host-port-range, with this master's own API and Raft
// ports reserved besides orch's defaults (a master may share a machine
// with an agent).
func hostPortPolicy(cfg Config) (apiserver.HostPortPolicy, error) {
	var reserved []int
	for _, addr := range []string{cfg.APIAddr, cfg.RaftAddr} {
		if _, port, err := net.SplitHostPort(addr); err == nil {
			if n, err := strconv.Atoi(port); err == nil && n > 0 {
				reserved = append(reserved, n)
			}
		}
	}
	p, err := apiserver.ParseHostPortRange(cfg.HostPortRange, reserved...)
	if err != nil {
		return p, fmt.Errorf("master: %w", err)
	}
	return p, nil
}
