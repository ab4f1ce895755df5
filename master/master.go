// Package master assembles one master process: Raft and the store, the API
// and the agent channel, and the leader-only controllers that start when
// this master wins an election and stop the moment it loses leadership.
//
// It wires; it holds no business logic of its own.
package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/pki"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/apiserver"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/controlplane"
	"github.com/orch-io/orch/master/dispatcher"
	"github.com/orch-io/orch/master/events"
	"github.com/orch-io/orch/master/imagestore"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/raftnode"
	"github.com/orch-io/orch/master/seal"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// Config configures a master.
type Config struct {
	DataDir   string
	APIAddr   string // listen address, HOST:PORT
	RaftAddr  string // listen and advertise address for Raft, HOST:PORT
	NodeID    string // Raft server id; default derived from the Raft address
	Bootstrap bool
	// Join lists masters of an existing cluster (https://HOST:PORT) that
	// this master joins with JoinToken (role master). Ignored once the data
	// directory holds Raft state: a restarted master is already a member.
	Join      []string
	JoinToken string
	// Leave makes Stop take this master out of the cluster first.
	Leave bool
	// LeaderWait bounds how long a request waits for a leader before the
	// answer is 503 (default peer.DefaultLeaderWait).
	LeaderWait time.Duration
	// ClusterCIDR is the overlay range split into per-node /24s (bootstrap only).
	ClusterCIDR string
	// NodeTimeout is how long an agent may be silent before its node is down.
	NodeTimeout time.Duration
	// Rebalance starts the rebalance controller on the leader: replicas
	// move by themselves to restore spread after nodes join or return.
	Rebalance bool
	// HostPortRange is which host ports services may publish (--host-port-range;
	// "" is apiserver.DefaultHostPortRange).
	HostPortRange string
	// MaxImageSize caps one image upload (default imagestore.DefaultMaxSize).
	MaxImageSize int64
	// CertLifetime is how long the certificates this master signs (its
	// own, nodes') are valid (--cert-lifetime; default
	// pki.DefaultLeafLifetime). Each renews itself at two thirds of it.
	CertLifetime time.Duration
	// MaxStreams caps the watch, follow and exec streams one token holds
	// open on this master (default apiserver.DefaultMaxStreams).
	MaxStreams int
	// EncryptionKeyFile is a data key to install (a restore needs the
	// key of the backup's cluster); "" keeps DATA/data.key, or fetches it
	// from the cluster when joining, or makes one at bootstrap.
	EncryptionKeyFile string
	Raft              raftnode.Config // timeouts and snapshot thresholds; addresses come from above
	Logger            *slog.Logger
	// Out is where bootstrap tells the operator where the credentials are
	// (default os.Stderr).
	Out io.Writer
}

// Master is a running master.
type Master struct {
	cfg       Config
	hostPorts apiserver.HostPortPolicy
	log       *slog.Logger
	store     *store.Store
	raft      *raftnode.Node
	ca        *pki.CA
	stopOnce  sync.Once
	// dataKey seals secret values (DATA/data.key, never replicated).
	dataKey *seal.Key
	// registry holds this master's metrics (GET /metrics).
	registry *prometheus.Registry
	// readWaits times linearizable reads' waits (readBarrier).
	readWaits *prometheus.HistogramVec
	// handshakes admits the API port's TLS handshakes a few at a time.
	handshakes *handshakeGate
	cert       *pki.LiveCert // this master's own, renewed by runCertRenewal
	certHosts  []string
	tokens     *auth.Tokens
	dispatcher *dispatcher.Dispatcher
	events     *events.Log
	control    *controlplane.Server
	forwarder  *peer.Forwarder
	peers      *peer.Client
	httpServer *http.Server
	listener   net.Listener
	apiURL     string
	// migrated: the credentials are known to be in replicated state.
	migrated atomic.Bool

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// Files under the data directory.
const (
	AdminConfigFile  = "admin.conf"
	AgentTokenFile   = "agent.token"
	MasterTokenFile  = "master.token"
	pkiDir           = "pki"
	joinTimeout      = 2 * time.Minute
	readBarrierLimit = 5 * time.Second
)

// Start opens the data directory, starts Raft and serves the API. It
// returns once the API listens (and, when joining, once this master is a
// voter); Stop ends everything.
func Start(ctx context.Context, cfg Config) (*Master, error) {
	cfg = withDefaults(cfg)
	if _, err := store.NodeSubnets(cfg.ClusterCIDR); cfg.Bootstrap && err != nil {
		return nil, fmt.Errorf("master: --cluster-cidr: %w", err)
	}
	err := os.MkdirAll(cfg.DataDir, 0o700)
	if err != nil {
		return nil, fmt.Errorf("master: data dir: %w", err)
	}
	m := &Master{cfg: cfg, log: cfg.Logger.With("component", "master")}
	if m.hostPorts, err = hostPortPolicy(cfg); err != nil {
		return nil, err
	}
	hasState, err := raftnode.HasState(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	joining := len(cfg.Join) > 0 && !hasState
	if m.ca, err = m.credentials(ctx, joining, hasState); err != nil {
		return nil, err
	}
	if m.dataKey, err = m.loadDataKey(); err != nil {
		return nil, err
	}
	m.ca.SetLeafLifetime(cfg.CertLifetime)
	images, err := imagestore.Open(filepath.Join(cfg.DataDir, "images"), imagestore.WithMaxSize(cfg.MaxImageSize))
	if err != nil {
		return nil, err
	}
	if err := m.listenAndOpenRaft(joining); err != nil {
		return nil, err
	}
	m.assembleAPI(images)
	runCtx := m.serve(ctx)
	if err := m.enterCluster(ctx, hasState, joining); err != nil {
		return nil, err
	}
	m.startBackground(runCtx, images)
	m.log.Info("master started", "api", m.apiURL, "raft", m.raft.Addr(), "id", cfg.NodeID)
	return m, nil
}

// withDefaults fills in what the operator left out.
func withDefaults(cfg Config) Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "master-" + cfg.RaftAddr
	}
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = store.DefaultClusterCIDR
	}
	if cfg.MaxImageSize <= 0 {
		cfg.MaxImageSize = imagestore.DefaultMaxSize
	}
	return cfg
}

// listenAndOpenRaft issues this master's certificate, makes the store it
// replicates into, listens on the API address and opens Raft.
func (m *Master) listenAndOpenRaft(joining bool) error {
	cfg := m.cfg
	host, _, _ := net.SplitHostPort(cfg.APIAddr)
	raftHost, _, _ := net.SplitHostPort(cfg.RaftAddr)
	m.certHosts = append(serverHosts(host), raftHost)
	cert, err := m.ca.IssueMaster(m.certHosts)
	if err != nil {
		return err
	}
	m.cert = pki.NewLiveCert(cert)
	m.store = store.New()
	m.readWaits = newReadWaits()
	m.handshakes = newHandshakeGate(handshakeSlots(), handshakeLease, handshakeQueueLimit)
	m.tokens = auth.NewTokens(m.store, m.readBarrier)
	m.peers = peer.NewClient(m.ca, m.cert)
	rc := cfg.Raft
	rc.DataDir, rc.BindAddr, rc.AdvertiseAddr, rc.NodeID = cfg.DataDir, cfg.RaftAddr, cfg.RaftAddr, cfg.NodeID
	rc.Bootstrap = cfg.Bootstrap && !joining
	rc.ServerTLS, rc.ClientTLS = m.ca.MasterServerTLS(m.cert), m.ca.MasterClientTLS(m.cert)
	if rc.Logger == nil {
		rc.Logger = cfg.Logger
	}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("master: listen on %s: %w", cfg.APIAddr, err)
	}
	m.listener = ln
	m.apiURL = "https://" + apiHostPort(ln.Addr().String(), host)
	if m.raft, err = raftnode.Open(rc, store.NewFSM(m.store, cfg.Logger)); err != nil {
		ln.Close()
		return fmt.Errorf("master: open raft: %w", err)
	}
	return nil
}

// assembleAPI builds the services behind the API (agent channel, control
// plane, events) and the HTTPS server that forwards to the leader what
// this master cannot answer itself.
func (m *Master) assembleAPI(images *imagestore.Store) {
	cfg := m.cfg
	m.registry = m.newRegistry()
	m.dispatcher = dispatcher.New(dispatcher.Deps{Store: m.store, Proposer: m.proposer(), CA: m.ca, ClientCert: m.cert, DataKey: m.dataKey, Logger: cfg.Logger,
		IsLeader: m.raft.IsLeader, LeaderContact: m.raft.LastContact, Forward: func(w http.ResponseWriter, r *http.Request) { m.forwarder.Forward(w, r) }})
	m.registry.MustRegister(m.dispatcher.Collector())
	m.control = controlplane.New(controlplane.Deps{
		Raft: m.raft, Store: m.store, CA: m.ca, Cert: m.cert, Masters: m.peers, DataKey: m.dataKey, Self: m.self(), ReadBarrier: m.readBarrier,
		LastUsed: m.tokens.LastUsed, Logger: cfg.Logger,
	})
	m.events = events.NewLog(0, nil)
	server := apiserver.New(apiserver.Deps{
		Events:      m.events,
		Store:       m.store,
		DataKey:     m.dataKey,
		Proposer:    m.proposer(),
		Auth:        authenticator{m.tokens},
		Cluster:     m,
		Images:      images,
		CAPEM:       m.servedCA,
		Logs:        m.dispatcher,
		NodeMetrics: m.dispatcher,
		Exec:        m.dispatcher,
		ReadBarrier: m.readBarrier,
		Heartbeats:  m.dispatcher.LastHeartbeat,
		HostPorts:   m.hostPorts,
		Logger:      cfg.Logger,
		Extra:       extraRoutes(m.dispatcher, m.control),
		MaxStreams:  cfg.MaxStreams,
		Registry:    m.registry,
	})
	m.forwarder = peer.NewForwarder(peer.ForwarderDeps{
		Local: server.Handler(), Leader: m.leaderAPI, CA: m.ca, Cert: m.cert, Wait: cfg.LeaderWait, Logger: cfg.Logger,
		ServedHere: dispatcher.ServedByAnyMaster,
	})
	m.httpServer = newAPIServer(api.VersionHandler(m.forwarder), &tls.Config{
		GetCertificate: m.cert.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		// Masters calling one another and registered nodes show their
		// certificate; clients (and a node joining) use bearer tokens.
		ClientAuth: tls.VerifyClientCertIfGiven,
		// The CAs trusted change during a CA replacement: read at each
		// handshake, once the handshake has its slot.
		GetConfigForClient: m.handshakes.gated(m.apiTLSForClient),
	}, m.handshakes.connState, cfg.Logger)
}

// serve starts the API server, the leader loop and the events follower,
// and returns the context that Stop cancels to end them.
func (m *Master) serve(ctx context.Context) context.Context {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		if err := m.httpServer.ServeTLS(m.listener, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("api server stopped", "err", err)
		}
	}()
	go func() {
		defer m.wg.Done()
		m.runLeaderWork(runCtx)
	}()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.followCA(runCtx)
	}()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.dispatcher.RunBeatRelay(runCtx, m.relayBeats)
	}()
	// Every master derives the human events from what it applies (not only
	// the leader), so any master serves GET /v1/events.
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		events.Follow(runCtx, m.store, m.events, m.cfg.Logger)
	}()
	return runCtx
}

// enterCluster makes this master a member: it bootstraps a new cluster,
// or joins an existing one, or (a restarted master) moves credentials
// from before replicated state into it. On failure it stops the master.
func (m *Master) enterCluster(ctx context.Context, hasState, joining bool) error {
	cfg := m.cfg
	if cfg.Bootstrap && !hasState && !joining {
		if err := m.bootstrapCredentials(ctx); err != nil {
			m.cfg.Leave = false
			m.Stop()
			return err
		}
	}
	if joining {
		jctx, jcancel := context.WithTimeout(ctx, joinTimeout)
		err := (&peer.Joiner{URLs: cfg.Join, Token: cfg.JoinToken}).RequestMembership(jctx, m.ca.CertPEM(), m.self())
		jcancel()
		if err != nil {
			m.cfg.Leave = false
			m.Stop()
			return fmt.Errorf("master: join: %w", err)
		}
		m.log.Info("joined the cluster", "via", cfg.Join)
	}
	if hasState && hasLegacyCredentials(cfg.DataDir) {
		// A single master from before replicated credentials: move them
		// now, so its admin.conf and agents keep working from the start.
		if err := m.waitLeader(ctx); err == nil {
			if err := m.migrateCredentials(ctx); err != nil {
				m.log.Warn("could not move the credentials into replicated state yet", "err", err)
			}
		}
	}
	return nil
}

// startBackground starts the loops every master runs once it is a member:
// keeping its own record current, copying loaded images from its peers
// and writing the tokens' last-use times.
func (m *Master) startBackground(runCtx context.Context, images *imagestore.Store) {
	m.wg.Add(4)
	go func() {
		defer m.wg.Done()
		m.runUpkeep(runCtx)
	}()
	go func() {
		defer m.wg.Done()
		m.runCertRenewal(runCtx)
	}()
	go func() {
		defer m.wg.Done()
		m.runTokenUse(runCtx)
	}()
	go func() {
		defer m.wg.Done()
		m.runImageSync(runCtx, images)
	}()
}

// credentials finds the cluster CA: fetched from the cluster when joining
// (checked against the token's digest), made anew for a new cluster, else
// the local copy every master keeps.
func (m *Master) credentials(ctx context.Context, joining, hasState bool) (*pki.CA, error) {
	dir := filepath.Join(m.cfg.DataDir, pkiDir)
	if joining {
		jctx, cancel := context.WithTimeout(ctx, joinTimeout)
		defer cancel()
		creds, err := (&peer.Joiner{URLs: m.cfg.Join, Token: m.cfg.JoinToken}).Credentials(jctx)
		if err != nil {
			return nil, fmt.Errorf("master: join: %w", err)
		}
		ca, err := pki.ParseCA([]byte(creds.CACertPEM), []byte(creds.CAKeyPEM))
		if err != nil {
			return nil, fmt.Errorf("master: join: %w", err)
		}
		if err := m.saveJoinedDataKey(creds.DataKey); err != nil {
			return nil, fmt.Errorf("master: join: %w", err)
		}
		return ca, ca.Save(dir)
	}
	ca, err := pki.LoadCA(dir)
	switch {
	case err == nil:
		return ca, m.loadNextCA(ca)
	case errors.Is(err, os.ErrNotExist) && m.cfg.Bootstrap && !hasState:
		return pki.LoadOrCreateCA(dir)
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("master: no cluster credentials in %s: start a new cluster with --bootstrap or join one with --join and --token: %w", dir, err)
	}
	return nil, err
}

// self is this master as the others reach it.
func (m *Master) self() peer.Member {
	return peer.Member{ID: m.cfg.NodeID, RaftAddress: m.raft.Addr(), APIAddress: m.apiURL, Protocol: api.ProtocolVersion.String()}
}

// URL is the API's address.
func (m *Master) URL() string { return m.apiURL }

// Store is the master's replicated state (read-only for callers).
func (m *Master) Store() *store.Store { return m.store }

// Raft is the master's Raft node.
func (m *Master) Raft() *raftnode.Node { return m.raft }

// CA is the cluster CA.
func (m *Master) CA() *pki.CA { return m.ca }

// Stop shuts the master down: leader work first, then the API, then Raft.
// With Config.Leave it first takes this master out of the cluster. Calls
// after the first do nothing.
func (m *Master) Stop() { m.stopOnce.Do(m.stop) }

func (m *Master) stop() {
	if m.cfg.Leave {
		if err := m.leave(); err != nil {
			m.log.Warn("could not leave the cluster", "err", err)
		}
	}
	m.cancel()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.httpServer.Shutdown(shutdownCtx)
	_ = m.httpServer.Close()
	m.wg.Wait()
	if err := m.raft.Shutdown(); err != nil {
		m.log.Warn("raft shutdown", "err", err)
	}
}

// bootstrapCredentials puts a new cluster's config (its CA included), its
// first tokens and this master's record through Raft, and writes admin.conf
// and the join tokens for the operator.
func (m *Master) bootstrapCredentials(ctx context.Context) error {
	if err := m.waitLeader(ctx); err != nil {
		return err
	}
	cmds := []*orchpb.Command{
		{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{Config: &orchpb.ClusterConfig{
			ClusterCidr: m.cfg.ClusterCIDR, ClusterId: m.ca.Digest()[:16],
			CaCertPem: string(m.ca.CertPEM()), CaKeyPem: string(m.ca.KeyPEM()),
		}}}},
		controlplane.Record(m.self()),
	}
	tokens := map[auth.Role]string{}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleAgent, auth.RoleMaster} {
		token, digest, err := auth.NewToken(m.ca.Digest(), role)
		if err != nil {
			return err
		}
		tokens[role] = token
		cmds = append(cmds, &orchpb.Command{Op: &orchpb.Command_PutToken{PutToken: &orchpb.PutToken{Token: &orchpb.Token{Sha256: digest, Role: string(role), CreatedAt: time.Now().UnixMilli()}}}})
	}
	for _, cmd := range cmds {
		res, err := m.raft.Apply(ctx, cmd)
		if err == nil && res.GetErrorCode() != "" {
			err = errors.New(res.GetError())
		}
		if err != nil {
			return fmt.Errorf("master: bootstrap: %w", err)
		}
	}
	paths := map[auth.Role]string{}
	for file, role := range map[string]auth.Role{AgentTokenFile: auth.RoleAgent, MasterTokenFile: auth.RoleMaster} {
		paths[role] = filepath.Join(m.cfg.DataDir, file)
		if err := writeSecret(paths[role], tokens[role]+"\n"); err != nil {
			return fmt.Errorf("master: write %s: %w", file, err)
		}
	}
	confPath := filepath.Join(m.cfg.DataDir, AdminConfigFile)
	if err := client.WriteConfig(confPath, &client.Config{Server: m.apiURL, Token: tokens[auth.RoleAdmin], CA: string(m.ca.CertPEM())}); err != nil {
		return fmt.Errorf("master: write %s: %w", confPath, err)
	}
	// Paths, never the tokens: output ends up in logs and terminals' scrollback.
	out := m.cfg.Out
	if out == nil {
		out = os.Stderr
	}
	fmt.Fprintf(out, "orch cluster bootstrapped.\n  admin credentials: %s\n  agent join token:  %s\n  master join token: %s\n",
		confPath, paths[auth.RoleAgent], paths[auth.RoleMaster])
	return nil
}

func (m *Master) waitLeader(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !m.raft.IsLeader() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("master: no leader elected: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func serverHosts(apiHost string) []string {
	hosts := []string{"127.0.0.1", "localhost", "::1"}
	if name, err := os.Hostname(); err == nil {
		hosts = append(hosts, name)
	}
	if apiHost != "" && apiHost != "0.0.0.0" && apiHost != "::" {
		hosts = append(hosts, apiHost)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, ipn.IP.String())
			}
		}
	}
	return hosts
}

// apiHostPort turns a listen address into one clients can dial.
func apiHostPort(listenAddr, configuredHost string) string {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return listenAddr
	}
	if configuredHost != "" && configuredHost != "0.0.0.0" && configuredHost != "::" {
		host = configuredHost
	} else if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
