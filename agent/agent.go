package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/orch-io/orch/agent/logs"
	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/netoverlay/dns"
	orchpb "github.com/orch-io/orch/proto"
)

// Label keys the agent puts on its containers.
const (
	labelReplica   = "orch.replica"
	labelService   = "orch.service"
	labelNamespace = "orch.namespace"
)

// Agent is a running agent.
type Agent struct {
	cfg  Config
	log  *slog.Logger
	conn *masterConn
	net  Network
	id   *identity
	// overlay is net when it reaches other nodes (nil for a plain Network);
	// dns is the node's DNS server on its gateway (nil without overlay).
	overlay Overlay
	dns     *dns.Server
	logs    *logs.Files

	mu       sync.Mutex
	workers  map[string]*replicaWorker
	finished map[string]*orchpb.ReplicaStatus // stopped replicas not yet reported
	adopted  map[string]runtime.ContainerInfo // containers found at start, not yet claimed
	haveSet  bool                             // an assignment set has been applied

	reportNow chan struct{}
	wg        sync.WaitGroup
}

// New checks the configuration; Run does the work.
func New(cfg Config) (*Agent, error) {
	cfg.defaults()
	switch {
	case cfg.DataDir == "":
		return nil, errors.New("agent: data dir is required")
	case len(cfg.Masters) == 0:
		return nil, errors.New("agent: --join: at least one master URL is required")
	case cfg.Token == "":
		return nil, errors.New("agent: --token is required")
	case cfg.Name == "":
		return nil, errors.New("agent: node name is required")
	case cfg.Runtime == nil:
		return nil, errors.New("agent: a container runtime is required")
	case cfg.Network == nil && cfg.Overlay == nil:
		return nil, errors.New("agent: a network is required")
	}
	if net.ParseIP(cfg.Address) == nil {
		return nil, fmt.Errorf("agent: --advertise-addr: %q is not an IP address", cfg.Address)
	}
	return &Agent{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "agent", "node", cfg.Name),
		logs:      logs.New(filepath.Join(cfg.DataDir, "logs"), logs.WithMaxSize(cfg.LogMaxSize), logs.WithMaxFiles(cfg.LogMaxFiles), logs.WithLogger(cfg.Logger)),
		workers:   map[string]*replicaWorker{},
		finished:  map[string]*orchpb.ReplicaStatus{},
		adopted:   map[string]runtime.ContainerInfo{},
		reportNow: make(chan struct{}, 1),
	}, nil
}

// Run joins the cluster and runs replicas until ctx ends. Ending ctx stops
// the agent but leaves its containers running, for the next agent process to
// adopt.
func (a *Agent) Run(ctx context.Context) error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("agent: data dir: %w", err)
	}
	pool, err := retry(ctx, a.log, "fetch the cluster CA", func() (*x509.CertPool, error) { return a.caPool(ctx) })
	if err != nil {
		return err
	}
	a.conn = newMasterConn(a.cfg.Masters, a.cfg.Token, pool)

	ln, err := net.Listen("tcp", a.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("agent: listen on %s: %w", a.cfg.ListenAddr, err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	agentAddr := net.JoinHostPort(a.cfg.Address, port)

	if a.id, err = a.loadIdentity(); err != nil {
		return err
	}
	if a.id == nil {
		// First join: nothing can run before the master assigns a subnet.
		if _, err := retry(ctx, a.log, "register", func() (struct{}, error) { return struct{}{}, a.register(ctx, agentAddr) }); err != nil {
			return err
		}
	} else {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_, _ = retry(ctx, a.log, "re-register", func() (struct{}, error) { return struct{}{}, a.register(ctx, agentAddr) })
		}()
	}
	subnet, err := netip.ParsePrefix(a.id.Subnet)
	if err != nil {
		return fmt.Errorf("agent: node subnet %q: %w", a.id.Subnet, err)
	}
	if err := a.makeNetwork(subnet); err != nil {
		return err
	}
	if err := a.adopt(ctx); err != nil {
		return err
	}
	a.startOverlay(ctx)
	if saved, err := a.loadAssignments(); err != nil {
		a.log.Warn("ignoring saved assignments", "err", err)
	} else if saved != nil {
		a.applyNetwork(saved)
		a.apply(ctx, saved)
	}

	a.wg.Add(5)
	go func() { defer a.wg.Done(); a.serve(ctx, ln, pool) }()
	go func() { defer a.wg.Done(); a.runAssignments(ctx) }()
	go func() { defer a.wg.Done(); a.runReporter(ctx) }()
	go func() { defer a.wg.Done(); a.logs.Run(ctx, a.cfg.LogCheckInterval) }()
	go func() { defer a.wg.Done(); a.runImageGC(ctx) }()
	a.log.Info("agent running", "id", a.id.NodeID, "subnet", a.id.Subnet, "endpoint", agentAddr)
	<-ctx.Done()
	a.wg.Wait()
	a.mu.Lock()
	workers := make([]*replicaWorker, 0, len(a.workers))
	for _, w := range a.workers {
		workers = append(workers, w)
	}
	a.mu.Unlock()
	for _, w := range workers {
		<-w.done
	}
	return nil
}

// NodeID is the id the master gave this node ("" before the first join).
func (a *Agent) NodeID() string {
	if a.id == nil {
		return ""
	}
	return a.id.NodeID
}

func (a *Agent) register(ctx context.Context, agentAddr string) error {
	csr, err := a.newCSR()
	if err != nil {
		return err
	}
	resp, err := a.conn.register(ctx, &orchpb.NodeRegistration{
		Name:         a.cfg.Name,
		Labels:       a.cfg.Labels,
		Address:      a.cfg.Address,
		Capacity:     a.cfg.Capacity,
		AgentAddress: agentAddr,
		CsrPem:       string(csr),
	})
	if err != nil {
		return err
	}
	if err := a.saveCertificate(resp.GetCertificatePem()); err != nil {
		return err
	}
	id := &identity{NodeID: resp.GetNode().GetId(), Name: a.cfg.Name, Subnet: resp.GetNode().GetSubnet(), ClusterCIDR: resp.GetClusterCidr()}
	if a.id != nil && (a.id.NodeID != id.NodeID || a.id.Subnet != id.Subnet) {
		a.log.Warn("the master changed this node's identity; keeping the running one until restart", "old_id", a.id.NodeID, "new_id", id.NodeID, "old_subnet", a.id.Subnet, "new_subnet", id.Subnet)
		return nil
	}
	if err := a.saveIdentity(id); err != nil {
		return err
	}
	if a.id == nil {
		a.id = id
	}
	a.log.Info("registered", "id", id.NodeID, "subnet", id.Subnet)
	return nil
}

// adopt lists the containers left in our namespace by an earlier agent
// process; workers claim theirs, and the rest are strays to remove.
func (a *Agent) adopt(ctx context.Context) error {
	infos, err := a.cfg.Runtime.List(ctx)
	if err != nil {
		return fmt.Errorf("agent: list containers: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, info := range infos {
		a.adopted[info.ID] = info
	}
	if len(infos) > 0 {
		a.log.Info("found containers from an earlier run", "count", len(infos))
	}
	return nil
}

func (a *Agent) logPath(replicaID string) string { return a.logs.Path(replicaID) }
