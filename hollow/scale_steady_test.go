package hollow_test

import (
	"net"
	"strconv"
	"time"

	"github.com/orch-io/orch/internal/measure"
)

// Steady state: after settle with nothing applied, a window of
// steadyWindow in which the benchmark sends nothing.
const (
	steadySettle = 10 * time.Second
	steadyWindow = 20 * time.Second
)

// mastersCPU is the live masters' CPU seconds so far, together.
func (c *scaleCluster) mastersCPU() float64 {
	var s float64
	for _, m := range c.live() {
		s += m.cpu()
	}
	return s
}

// apiPorts are the masters' API ports: the peer port of every agent
// connection of this process.
func (c *scaleCluster) apiPorts() map[int]bool {
	ports := map[int]bool{}
	for _, m := range c.masters {
		_, p, _ := net.SplitHostPort(m.apiAddr)
		port, _ := strconv.Atoi(p)
		ports[port] = true
	}
	return ports
}

// steady measures the leader's CPU and the bytes on the agent
// connections, per node and second, over a quiet window. Bytes are the
// kernel's counts for this process's TCP connections to the masters' API
// ports (status reports up, assignment streams down, TLS included); the
// benchmark's own API clients are idle then. The Raft entries applied in
// the window say how steady it was (0: nothing changed).
func (c *scaleCluster) steady(r *scaleReport) error {
	leader, err := c.leader()
	if err != nil {
		return err
	}
	time.Sleep(steadySettle)
	index0, err := c.metric(c.follower(leader), "orch_store_index", nil)
	if err != nil {
		return err
	}
	sent0, err := c.dispatcherSent()
	if err != nil {
		return err
	}
	ports := c.apiPorts()
	bytes0, err := measure.OwnTCPBytes(ports)
	if err != nil {
		return err
	}
	start, leader0, masters0 := time.Now(), leader.cpu(), c.mastersCPU()
	time.Sleep(steadyWindow)
	bytes1, err := measure.OwnTCPBytes(ports)
	if err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	r.steadyLeaderCores = (leader.cpu() - leader0) / wall
	r.steadyMastersCores = (c.mastersCPU() - masters0) / wall
	d := bytes1.Sub(bytes0)
	r.steadyUp = float64(d.Sent) / wall / float64(r.sizes.nodes)
	r.steadyDown = float64(d.Received) / wall / float64(r.sizes.nodes)
	r.steadyConns = d.Conns
	sent1, err := c.dispatcherSent()
	if err != nil {
		return err
	}
	r.steadyDispatcher = (sent1 - sent0) / wall / float64(r.sizes.nodes)
	index1, err := c.metric(c.follower(leader), "orch_store_index", nil)
	r.steadyEntries = index1 - index0
	return err
}

// dispatcherSent is what the masters count they wrote to agent streams
// (orch_dispatcher_stream_sent_bytes_total: message bytes, before HTTP and
// TLS), all masters together: a check on the transport's count.
func (c *scaleCluster) dispatcherSent() (float64, error) {
	var sum float64
	for _, m := range c.live() {
		v, err := c.metric(m, "orch_dispatcher_stream_sent_bytes_total", nil)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}
