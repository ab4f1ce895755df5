package master

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/orch-io/orch/master/controlplane"
	"github.com/orch-io/orch/master/peer"
)

// tokenUseInterval is how often a master hands the leader the last-use
// times of the tokens it accepted. Last use is kept in memory per master
// and written through Raft in one batch per interval, never per request:
// a Raft write on every authenticated request would double the cost of a
// read. `token list` adds the answering master's unwritten times, so it
// is at most this much behind for uses seen by other masters.
var tokenUseInterval = controlplane.TokenUseGranularity

// runTokenUse writes the tokens' last-use times until ctx ends.
func (m *Master) runTokenUse(ctx context.Context) {
	tick := time.NewTicker(tokenUseInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := m.flushTokenUse(ctx); err != nil && ctx.Err() == nil {
			m.log.Debug("token last-use times not written; kept for the next round", "err", err)
		}
	}
}

func (m *Master) flushTokenUse(ctx context.Context) error {
	used := m.tokens.TakeUsage()
	if len(used) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	if url, self, ok := m.leaderAPI(); !ok {
		err = errNoLeaderForTokenUse
	} else if self {
		err = m.control.RecordTokenUse(ctx, used)
	} else {
		err = m.peers.ReportTokenUse(ctx, url, peer.TokenUse{LastUsed: used})
	}
	if err != nil {
		m.tokens.ReturnUsage(used)
	}
	return err
}

var errNoLeaderForTokenUse = errors.New("master: no leader to write token use to")

// writeSecret writes a secret to path readable by its owner only, even if
// the file was there before with a looser mode.
func writeSecret(path, secret string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(secret); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
