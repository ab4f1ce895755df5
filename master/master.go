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
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/orch-io/orch/master/api"
	"github.com/orch-io/orch/master/api/client"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/dispatcher"
	"github.com/orch-io/orch/master/imagestore"
	"github.com/orch-io/orch/master/raftnode"
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
	// ClusterCIDR is the overlay range split into per-node /24s (bootstrap only).
	ClusterCIDR string
	// NodeTimeout is how long an agent may be silent before its node is down.
	NodeTimeout time.Duration
	Raft        raftnode.Config // timeouts and snapshot thresholds; addresses come from above
	Logger      *slog.Logger
}

// Master is a running master.
type Master struct {
	cfg        Config
	log        *slog.Logger
	store      *store.Store
	raft       *raftnode.Node
	ca         *auth.CA
	tokens     *auth.Tokens
	dispatcher *dispatcher.Dispatcher
	httpServer *http.Server
	listener   net.Listener
	apiURL     string

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// Files under the data directory.
const (
	AdminConfigFile = "admin.conf"
	AgentTokenFile  = "agent.token"
	pkiDir          = "pki"
)

// Start opens the data directory, starts Raft and serves the API. It
// returns once the API listens; Stop ends everything.
func Start(ctx context.Context, cfg Config) (*Master, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "master-" + cfg.RaftAddr
	}
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = "10.244.0.0/16"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("master: data dir: %w", err)
	}
	m := &Master{cfg: cfg, log: cfg.Logger.With("component", "master")}
	var err error
	if m.ca, err = auth.LoadOrCreateCA(filepath.Join(cfg.DataDir, pkiDir)); err != nil {
		return nil, err
	}
	if m.tokens, err = auth.OpenTokens(filepath.Join(cfg.DataDir, pkiDir), m.ca.Digest()); err != nil {
		return nil, err
	}
	images, err := imagestore.Open(filepath.Join(cfg.DataDir, "images"))
	if err != nil {
		return nil, err
	}
	m.store = store.New()
	rc := cfg.Raft
	rc.DataDir, rc.BindAddr, rc.AdvertiseAddr, rc.NodeID = cfg.DataDir, cfg.RaftAddr, cfg.RaftAddr, cfg.NodeID
	rc.Bootstrap = cfg.Bootstrap
	if rc.Logger == nil {
		rc.Logger = cfg.Logger
	}
	if m.raft, err = raftnode.Open(rc, store.NewFSM(m.store, cfg.Logger)); err != nil {
		return nil, fmt.Errorf("master: open raft: %w", err)
	}
	host, _, _ := net.SplitHostPort(cfg.APIAddr)
	serverCert, err := m.ca.IssueServer("orch-master", serverHosts(host))
	if err != nil {
		_ = m.raft.Shutdown()
		return nil, err
	}
	m.dispatcher = dispatcher.New(dispatcher.Deps{Store: m.store, Proposer: m.raft, CA: m.ca, ClientCert: serverCert, Logger: cfg.Logger})
	server := api.New(api.Deps{
		Store:       m.store,
		Proposer:    m.raft,
		Auth:        m.tokens,
		Cluster:     m,
		Images:      images,
		CAPEM:       m.ca.CertPEM,
		Logs:        m.dispatcher,
		ReadBarrier: m.readBarrier,
		Heartbeats:  m.dispatcher.LastHeartbeat,
		Logger:      cfg.Logger,
		Extra:       m.dispatcher.Routes(),
	})
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		_ = m.raft.Shutdown()
		return nil, fmt.Errorf("master: listen on %s: %w", cfg.APIAddr, err)
	}
	m.listener = ln
	m.apiURL = "https://" + apiHostPort(ln.Addr().String(), host)
	m.httpServer = &http.Server{
		Handler:           server.Handler(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		if err := m.httpServer.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("api server stopped", "err", err)
		}
	}()
	go func() {
		defer m.wg.Done()
		m.runLeaderWork(runCtx)
	}()
	if cfg.Bootstrap {
		if err := m.bootstrapCredentials(ctx); err != nil {
			m.Stop()
			return nil, err
		}
	}
	m.log.Info("master started", "api", m.apiURL, "raft", cfg.RaftAddr, "id", cfg.NodeID)
	return m, nil
}

// URL is the API's address.
func (m *Master) URL() string { return m.apiURL }

// Store is the master's replicated state (read-only for callers).
func (m *Master) Store() *store.Store { return m.store }

// Raft is the master's Raft node.
func (m *Master) Raft() *raftnode.Node { return m.raft }

// CA is the cluster CA.
func (m *Master) CA() *auth.CA { return m.ca }

// Stop shuts the master down: leader work first, then the API, then Raft.
func (m *Master) Stop() {
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

// bootstrapCredentials writes admin.conf and the agent join token once.
func (m *Master) bootstrapCredentials(ctx context.Context) error {
	confPath := filepath.Join(m.cfg.DataDir, AdminConfigFile)
	if _, err := os.Stat(confPath); err == nil {
		return nil
	}
	admin, err := m.tokens.Create(auth.RoleAdmin)
	if err != nil {
		return err
	}
	agent, err := m.tokens.Create(auth.RoleAgent)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(m.cfg.DataDir, AgentTokenFile), []byte(agent+"\n"), 0o600); err != nil {
		return fmt.Errorf("master: write agent token: %w", err)
	}
	if err := client.WriteConfig(confPath, &client.Config{Server: m.apiURL, Token: admin, CA: string(m.ca.CertPEM)}); err != nil {
		return fmt.Errorf("master: write %s: %w", confPath, err)
	}
	if err := m.waitLeader(ctx); err != nil {
		return err
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_SetClusterConfig{SetClusterConfig: &orchpb.SetClusterConfig{
		Config: &orchpb.ClusterConfig{ClusterCidr: m.cfg.ClusterCIDR, ClusterId: m.ca.Digest()[:16]},
	}}}
	if _, err := m.raft.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("master: store cluster config: %w", err)
	}
	fmt.Fprintf(os.Stderr, "orch cluster bootstrapped.\n  admin credentials: %s\n  agent join token:  %s\n", confPath, agent)
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

// readBarrier makes a read linearizable: the leader confirms it still leads
// and the store has applied everything committed before the read began.
func (m *Master) readBarrier(ctx context.Context) error {
	index, err := m.raft.VerifyLeader(ctx)
	if err != nil {
		return err
	}
	return m.raft.WaitApplied(ctx, index, m.store.Index)
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
