package master

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/raftnode"
)

// leaderAPI tells the forwarder where the leader's API is: Raft names the
// leader, the replicated master records give its address.
func (m *Master) leaderAPI() (apiURL string, self, ok bool) {
	if m.raft.IsLeader() {
		return m.apiURL, true, true
	}
	id, _ := m.raft.Leader()
	switch {
	case id == "":
		return "", false, false
	case id == m.cfg.NodeID:
		return m.apiURL, true, true
	}
	rec := m.store.Master(id)
	if rec.GetApiAddress() == "" {
		return "", false, false
	}
	return rec.GetApiAddress(), false, true
}

// readBarrier makes a read linearizable on any master (the Raft read-index
// protocol): the leader confirms with a quorum that it still leads and
// names the index of the last write acknowledged; this master's store
// waits until it has applied that far. A follower asks the leader over the
// API; without a reachable leader the read fails (503) after the leader
// wait, it never hangs.
func (m *Master) readBarrier(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readBarrierLimit)
	defer cancel()
	var last error
	for {
		if m.raft.IsLeader() {
			var index uint64
			err := m.timedRead("verify", func() (err error) { index, err = m.raft.VerifyLeader(ctx); return err })
			if err == nil {
				return m.timedRead("apply", func() error { return m.store.WaitIndex(ctx, index) })
			}
			if !errors.Is(err, raftnode.ErrNotLeader) {
				return err
			}
			last = err
		} else {
			url, self, err := m.forwarder.WaitLeader(ctx)
			if err != nil {
				return noLeaderForRead(m.cfg.LeaderWait)
			}
			if !self {
				var index uint64
				err := m.timedRead("verify", func() (err error) { index, err = m.peers.ReadIndex(ctx, url); return err })
				if err == nil {
					return m.timedRead("apply", func() error { return m.store.WaitIndex(ctx, index) })
				}
				last = err
			}
		}
		// Leadership is moving: try again while the read may still wait.
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: read barrier: %w (last: %w)", raftnode.ErrNotLeader, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func noLeaderForRead(wait time.Duration) error {
	if wait <= 0 {
		wait = peer.DefaultLeaderWait
	}
	return &api.Error{Code: api.CodeNoLeader, Status: http.StatusServiceUnavailable,
		Message: fmt.Sprintf("no leader: a linearizable read needs one (waited %s for one to be elected); add ?stale=true to read this master's possibly stale state", wait)}
}

// authenticator prefers the caller's bearer token; without one, a node's
// client certificate (or a master vouching for one it forwards) makes the
// caller that node, and a master's certificate makes it a master.
// Forwarded requests carry the original token, and a certificate only to
// vouch for a node, so a follower never lends its own authority to a
// caller.
type authenticator struct{ tokens *auth.Tokens }

func (a authenticator) Authenticate(token string) (auth.Role, error) {
	return a.tokens.Authenticate(token)
}

func (a authenticator) AuthenticateRequest(r *http.Request) (auth.Role, error) {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return a.tokens.Authenticate(strings.TrimSpace(token))
	}
	if _, ok := peer.CallerNode(r); ok {
		return auth.RoleNode, nil
	}
	if pki.PeerIsMaster(r.TLS) && r.Header.Get(peer.HeaderNode) == "" {
		return auth.RoleMaster, nil
	}
	return "", auth.ErrUnauthenticated
}

// leave asks the leader (possibly this master) to remove this master.
func (m *Master) leave() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		url, _, err := m.forwarder.WaitLeader(ctx)
		if err == nil {
			if err = m.peers.RemoveMember(ctx, url, m.cfg.NodeID); err == nil {
				m.log.Info("left the cluster")
				return nil
			}
			var we *api.Error
			if errors.As(err, &we) && we.HTTPStatus() < 500 {
				// Refused for good (the last member, or not a member).
				return fmt.Errorf("master: leave: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("master: leave: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// upkeepInterval is how often a master checks its own record.
const upkeepInterval = time.Second

// runUpkeep keeps this master's record (where its API is) current, e.g.
// after a restart on another API address or a restore, and on the leader
// moves credentials of an older single-master data dir into Raft.
func (m *Master) runUpkeep(ctx context.Context) {
	tick := time.NewTicker(upkeepInterval)
	defer tick.Stop()
	for {
		if err := m.upkeep(ctx); err != nil && ctx.Err() == nil {
			m.log.Debug("upkeep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (m *Master) upkeep(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := m.migrateCredentials(ctx); err != nil {
		return err
	}
	self := m.self()
	rec := m.store.Master(self.ID)
	if rec.GetApiAddress() == self.APIAddress && rec.GetRaftAddress() == self.RaftAddress && rec.GetProtocol() == self.Protocol {
		return nil
	}
	if m.raft.IsLeader() {
		return m.control.UpdateRecord(ctx, self)
	}
	url, _, ok := m.leaderAPI()
	if !ok {
		return nil
	}
	if rec.GetApiAddress() == self.APIAddress && rec.GetRaftAddress() == self.RaftAddress {
		// Only the protocol is new: a leader of v0.1.0 would record the
		// address again without it, every second. Wait for a leader that
		// records protocols.
		if id, _ := m.raft.Leader(); m.store.Master(string(id)).GetProtocol() == "" {
			return nil
		}
	}
	return m.peers.UpdateMember(ctx, url, self)
}

// relayBeats hands the leader the heartbeats this master answered as a
// follower (the dispatcher's relay); to itself when it leads by now.
func (m *Master) relayBeats(ctx context.Context, nodes []string) error {
	base, self, ok := m.leaderAPI()
	switch {
	case !ok:
		return peer.ErrNoLeader
	case self:
		m.dispatcher.Beat(nodes)
		return nil
	}
	return m.peers.RelayBeats(ctx, base, nodes)
}
