package dispatcher

import (
	"github.com/orch-io/orch/master/store"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// CAChanged tells every stream that the CAs nodes must trust, or the time
// before which they must renew, may have changed (a CA replacement moved
// on).
func (d *Dispatcher) CAChanged() { d.streams.wakeAll() }

// addCATrust puts into a node's set the CA bundle it must trust and, in
// the sign phase of a CA replacement, the key id of the CA whose client
// certificate it must hold.
func (d *Dispatcher) addCATrust(set *orchpb.AssignmentSet) {
	if d.deps.CA == nil {
		return
	}
	set.CaBundlePem = string(d.deps.CA.BundlePEM())
	if r := d.deps.Store.Config().GetRotation(); r.GetPhase() == store.CAPhaseSign {
		set.RenewUnlessIssuer = pki.KeyID(d.deps.CA.Cert())
	}
}
