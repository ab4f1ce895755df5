package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// MasterTrust asks a master what it trusts and presents now
// (GET /v1/cluster/self).
type MasterTrust interface {
	Self(ctx context.Context, apiURL string) (*api.Member, error)
}

// CARotationController drives a CA replacement (docs/ca-rotation.md) on
// the leader: from trust to sign once every master and every node that is
// not down trusts both CAs, and from sign to retire once every master
// serves a certificate of the next CA and every node's client certificate
// is the next CA's (nodes that are down hold it back unless forced). It
// reads the phase from the store, so a new leader goes on where the last
// one stopped.
type CARotationController struct {
	store    *store.Store
	proposer endpoint.Proposer
	masters  MasterTrust
	now      func() time.Time
	log      *slog.Logger
}

// CARotationDeps are the controller's dependencies.
type CARotationDeps struct {
	Store    *store.Store
	Proposer endpoint.Proposer
	Masters  MasterTrust
	Now      func() time.Time
	Logger   *slog.Logger
}

// NewCARotationController builds the controller.
func NewCARotationController(d CARotationDeps) *CARotationController {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &CARotationController{store: d.Store, proposer: d.Proposer, masters: d.Masters, now: d.Now, log: d.Logger.With("controller", "ca-rotation")}
}

// caRotationPeriod is how often the controller looks at the rotation's
// progress; a rotation is rare and waits for nodes' reports anyway.
const caRotationPeriod = 250 * time.Millisecond

// Run drives rotations until ctx ends.
func (c *CARotationController) Run(ctx context.Context) error {
	tick := time.NewTicker(caRotationPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := c.step(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("CA rotation did not move on", "err", err)
		}
	}
}

func (c *CARotationController) step(ctx context.Context) error {
	r := c.store.Config().GetRotation()
	if r == nil {
		return nil
	}
	p, err := RotationProgress(ctx, c.store, c.masters)
	if err != nil || !p.Done() {
		return err
	}
	next := &orchpb.RotateCA{Phase: store.CAPhaseSign, Rotation: &orchpb.CARotation{SignAtUnixMs: c.now().UnixMilli()}}
	if r.GetPhase() == store.CAPhaseSign {
		next = &orchpb.RotateCA{Phase: store.CAPhaseRetire}
	}
	res, err := c.proposer.Apply(ctx, &orchpb.Command{Op: &orchpb.Command_RotateCa{RotateCa: next}})
	if err == nil && res.GetErrorCode() != "" {
		err = fmt.Errorf("%s", res.GetError())
	}
	if err != nil {
		return fmt.Errorf("move the CA rotation to %s: %w", next.GetPhase(), err)
	}
	c.log.Info("CA rotation moved on", "phase", next.GetPhase(), "masters", p.MastersDone, "nodes", p.NodesDone)
	return nil
}

// RotationProgress is how far masters and nodes have followed the
// rotation's phase; the zero value (no phase) when none is under way.
func RotationProgress(ctx context.Context, st *store.Store, masters MasterTrust) (api.CARotation, error) {
	cfg := st.Config()
	r := cfg.GetRotation()
	if r == nil {
		return api.CARotation{}, nil
	}
	bundle, err := pki.BundleOf([]byte(cfg.GetCaCertPem()), []byte(r.GetNextCertPem()))
	if err != nil {
		return api.CARotation{}, fmt.Errorf("the rotation's CAs: %w", err)
	}
	nextCert, err := pki.ParseCertPEM([]byte(r.GetNextCertPem()))
	if err != nil {
		return api.CARotation{}, fmt.Errorf("the next CA: %w", err)
	}
	p := api.CARotation{Phase: r.GetPhase(), Force: r.GetForce()}
	want := caughtUp{digest: pki.BundleDigest(bundle), issuer: pki.KeyID(nextCert), signing: r.GetPhase() == store.CAPhaseSign}
	for _, m := range st.Masters() {
		p.Masters++
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		self, err := masters.Self(mctx, m.GetApiAddress())
		cancel()
		if err == nil && want.met(self.CADigest, self.CertIssuer) {
			p.MastersDone++
		} else {
			p.Waiting = append(p.Waiting, "master "+m.GetId())
		}
	}
	for _, n := range st.Nodes() {
		if n.GetState() == string(orchpb.NodeDown) && (!want.signing || r.GetForce()) {
			p.Down = append(p.Down, n.GetName())
			continue
		}
		p.Nodes++
		if want.met(n.GetCaDigest(), n.GetCertIssuer()) {
			p.NodesDone++
		} else {
			p.Waiting = append(p.Waiting, "node "+n.GetName())
		}
	}
	return p, nil
}

// caughtUp is what a master or node must report to have followed the
// phase: trusting both CAs, and in the sign phase a certificate of the
// next one.
type caughtUp struct {
	digest, issuer string
	signing        bool
}

func (w caughtUp) met(digest, issuer string) bool {
	return digest == w.digest && (!w.signing || issuer == w.issuer)
}
