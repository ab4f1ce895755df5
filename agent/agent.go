package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/agent/logs"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label keys the agent puts on its containers.
const (
	labelReplica   = "orch.replica"
	labelService   = "orch.service"
	labelNamespace = "orch.namespace"
)

// Agent is a running agent: Run builds its parts (see the package doc)
// once the node has joined, and runs their goroutines until its context
// ends. The fields set by Run are written before those goroutines start.
type Agent struct {
	cfg  Config
	log  *slog.Logger
	dir  dataDir
	logs *logs.Files
	conn *masterConn
	// id is set by the first registration, which may run alongside Run's
	// other goroutines.
	id atomic.Pointer[identity]
	// cert is the agent endpoint's certificate, replaced by each
	// registration and read at each handshake: the files on disk are a
	// pair, and a handshake between their two writes would mismatch.
	cert atomic.Pointer[tls.Certificate]
	// registering serializes registrations: the first (or the one at
	// start) and the renewals share the staged key file.
	registering sync.Mutex
	net         Network
	// overlay is net when it reaches other nodes (nil for a plain Network);
	// dns is the node's DNS server on its gateway (nil without overlay).
	overlay  Overlay
	dns      *nodeDNS
	replicas *replicaSet
	reporter *reporter
	volumes  *volumeKeeper

	wg sync.WaitGroup // Run's goroutines
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
		cfg:  cfg,
		log:  cfg.Logger.With("component", "agent", "node", cfg.Name),
		dir:  dataDir(cfg.DataDir),
		logs: logs.New(filepath.Join(cfg.DataDir, "logs"), logs.WithMaxSize(cfg.LogMaxSize), logs.WithMaxFiles(cfg.LogMaxFiles), logs.WithLogger(cfg.Logger)),
	}, nil
}

// Run joins the cluster and runs replicas until ctx ends. Ending ctx stops
// the agent but leaves its containers running, for the next agent process to
// adopt.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		// On an early error too: no goroutine outlives Run.
		cancel()
		a.wg.Wait()
		if a.replicas != nil {
			a.replicas.wait()
		}
	}()
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("agent: data dir: %w", err)
	}
	caPEM, err := retry(ctx, a.log, "fetch the cluster CA", func() ([]byte, error) {
		return a.dir.caBundle(ctx, a.cfg.Masters, a.cfg.Token)
	})
	if err != nil {
		return err
	}
	trust, err := newCATrust(caPEM)
	if err != nil {
		return fmt.Errorf("agent: %s: %w", a.dir.path("ca.crt"), err)
	}
	// A bundle the stream brings (a CA replacement) is what a restart
	// must trust too.
	trust.saved = func(b []byte) error { return writeAtomic(a.dir.path("ca.crt"), b, 0o644) }
	a.conn = newMasterConn(a.cfg.Masters, a.cfg.Token, trust)
	if a.cfg.HeartbeatInterval > 0 {
		a.conn.beatEvery = a.cfg.HeartbeatInterval
	}

	ln, err := net.Listen("tcp", a.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("agent: listen on %s: %w", a.cfg.ListenAddr, err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	agentAddr := net.JoinHostPort(a.cfg.Address, port)

	id, err := a.join(ctx, agentAddr)
	if err != nil {
		return err
	}
	if err := a.startReplicas(ctx, id); err != nil {
		return err
	}
	srv := &server{logs: a.logs, runtime: a.cfg.Runtime, container: a.replicas.container, certificate: a.certificate, log: a.log,
		metrics: promhttp.HandlerFor(a.newRegistry(), promhttp.HandlerOpts{})}
	a.wg.Add(8)
	go func() { defer a.wg.Done(); srv.serve(ctx, ln, trust) }()
	go func() { defer a.wg.Done(); a.runCertRenewal(ctx, agentAddr) }()
	go func() { defer a.wg.Done(); a.runAssignments(ctx, id.NodeID) }()
	go func() { defer a.wg.Done(); a.reporter.run(ctx) }()
	go func() { defer a.wg.Done(); a.replicas.runStrayCheck(ctx, a.cfg.Runtime, a.net) }()
	go func() { defer a.wg.Done(); a.logs.Run(ctx, a.cfg.LogCheckInterval) }()
	go func() { defer a.wg.Done(); a.runImageGC(ctx) }()
	go func() { defer a.wg.Done(); a.volumes.run(ctx) }()
	a.log.Info("agent running", "id", id.NodeID, "subnet", id.Subnet, "endpoint", agentAddr)
	<-ctx.Done()
	return nil
}

// NodeID is the id the master gave this node ("" before the first join).
func (a *Agent) NodeID() string {
	if id := a.id.Load(); id != nil {
		return id.NodeID
	}
	return ""
}

// every calls fn every d, on the caller's goroutine, until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// join returns the node's identity: the saved one, or on the first join
// the one a master gives it. A known node registers again in the
// background (its address or certificate may have changed) while its
// replicas run.
func (a *Agent) join(ctx context.Context, agentAddr string) (*identity, error) {
	id, err := a.dir.loadIdentity()
	if err != nil {
		return nil, err
	}
	if err := a.dir.finishSave(); err != nil {
		return nil, err
	}
	register := func() (struct{}, error) { return struct{}{}, a.register(ctx, agentAddr) }
	if id != nil {
		a.id.Store(id)
		if cert, err := a.dir.clientCertificate(); err == nil {
			a.warnIfExpired(cert)
			a.conn.setCertificate(cert)
		} else {
			a.log.Warn("no client certificate: registering with the join token", "err", err)
		}
		if cert, err := a.dir.serverCertificate(); err == nil {
			a.cert.Store(cert)
		} else {
			a.log.Warn("no certificate for the agent endpoint until registered", "err", err)
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_, _ = retry(ctx, a.log, "re-register", register)
		}()
		return id, nil
	}
	// First join: nothing can run before the master assigns a subnet.
	if _, err := retry(ctx, a.log, "register", register); err != nil {
		return nil, err
	}
	return a.id.Load(), nil
}

// certificate is the agent endpoint's current certificate.
func (a *Agent) certificate() (*tls.Certificate, error) {
	if c := a.cert.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("agent: not registered yet: no certificate")
}

func (a *Agent) register(ctx context.Context, agentAddr string) error {
	a.registering.Lock()
	defer a.registering.Unlock()
	csr, err := a.dir.newCSR(a.cfg.Name)
	if err != nil {
		return err
	}
	resp, err := a.conn.register(ctx, &orchpb.NodeRegistration{
		Name:         a.cfg.Name,
		Labels:       a.cfg.Labels,
		Address:      a.cfg.Address,
		Capacity:     a.cfg.Capacity,
		Devices:      a.cfg.Devices,
		AgentAddress: agentAddr,
		CsrPem:       string(csr),
	})
	if err != nil {
		return err
	}
	if err := a.dir.saveCertificates(resp.GetCertificatePem(), resp.GetServerCertificatePem()); err != nil {
		return err
	}
	cert, err := a.dir.serverCertificate()
	if err != nil {
		return fmt.Errorf("agent: load the new server certificate: %w", err)
	}
	client, err := a.dir.clientCertificate()
	if err != nil {
		return fmt.Errorf("agent: load the new client certificate: %w", err)
	}
	a.cert.Store(cert)
	a.conn.setCertificate(client)
	id := &identity{NodeID: resp.GetNode().GetId(), Name: a.cfg.Name, Subnet: resp.GetNode().GetSubnet(), ClusterCIDR: resp.GetClusterCidr()}
	if cur := a.id.Load(); cur != nil && (cur.NodeID != id.NodeID || cur.Subnet != id.Subnet) {
		a.log.Warn("the master changed this node's identity; keeping the running one until restart", "old_id", cur.NodeID, "new_id", id.NodeID, "old_subnet", cur.Subnet, "new_subnet", id.Subnet)
		return nil
	}
	if err := a.dir.saveIdentity(id); err != nil {
		return err
	}
	a.id.CompareAndSwap(nil, id)
	a.log.Info("registered", "id", id.NodeID, "subnet", id.Subnet)
	return nil
}

// startReplicas builds the node's network, finds the containers an earlier
// agent process left, and resumes the saved assignment set: a node cut off
// from every master runs what it was last told to.
func (a *Agent) startReplicas(ctx context.Context, id *identity) error {
	subnet, err := netip.ParsePrefix(id.Subnet)
	if err != nil {
		return fmt.Errorf("agent: node subnet %q: %w", id.Subnet, err)
	}
	if err := a.makeNetwork(subnet, id.ClusterCIDR); err != nil {
		return err
	}
	found, err := a.cfg.Runtime.List(ctx)
	if err != nil {
		return fmt.Errorf("agent: list containers: %w", err)
	}
	a.replicas = newReplicaSet(found, a.log)
	a.reporter = newReporter(a.conn, id.NodeID, a.replicas, a.cfg.HeartbeatInterval, a.log)
	a.startOverlay(ctx, id.NodeID, subnet)
	volumeDir := a.cfg.VolumeDir
	if volumeDir == "" {
		volumeDir = filepath.Join(a.cfg.DataDir, "volumes")
	}
	a.volumes = newVolumeKeeper(volumeDir, a.replicas, a.log)
	a.reporter.volumeUsage = a.volumes.usage
	files := replicaFiles{dir: a.dir, logs: a.logs, volumes: volumeDir}
	if a.dns != nil {
		files.dnsGateway = a.overlay.Gateway()
	}
	a.replicas.env = &workerEnv{runtime: measured(a.cfg.Runtime), network: a.net, files: files, report: a.reporter, log: a.log, now: time.Now, devices: a.cfg.Devices}
	if saved, err := a.dir.loadAssignments(); err != nil {
		a.log.Warn("ignoring saved assignments", "err", err)
	} else if saved != nil {
		a.applyNetwork(saved)
		a.replicas.apply(ctx, saved)
		a.volumes.setListed(saved)
	}
	return nil
}
