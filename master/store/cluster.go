package store

import (
	"net/netip"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func (s *Store) putImage(index uint64, c *orchpb.PutImage) *orchpb.CommandResult {
	if c.GetImage().GetName() == "" {
		return fail(index, orchpb.ResultInvalid, "put image: name is required")
	}
	img := proto.Clone(c.GetImage()).(*orchpb.Image)
	img.Version = index
	s.images[img.Name] = img
	s.emit(EventPut, KindImage, img)
	return &orchpb.CommandResult{}
}

func (s *Store) setClusterConfig(c *orchpb.SetClusterConfig) *orchpb.CommandResult {
	cfg := c.GetConfig()
	if cfg == nil {
		return fail(s.index, orchpb.ResultInvalid, "set cluster config: config is required")
	}
	if cidr := cfg.GetClusterCidr(); cidr != "" {
		p, err := netip.ParsePrefix(cidr)
		if err != nil || !p.Addr().Is4() || p.Bits() > 24 {
			return fail(s.index, orchpb.ResultInvalid, "set cluster config: cluster CIDR %q is not an IPv4 range of /24 or larger", cidr)
		}
	}
	next := proto.Clone(cfg).(*orchpb.ClusterConfig)
	if old := s.config; old.GetCaCertPem() != "" {
		// Every certificate and join token in the cluster hangs off the CA:
		// it is set once and kept when a later config leaves it out.
		if next.GetCaCertPem() == "" {
			next.CaCertPem, next.CaKeyPem = old.GetCaCertPem(), old.GetCaKeyPem()
		} else if next.GetCaCertPem() != old.GetCaCertPem() || next.GetCaKeyPem() != old.GetCaKeyPem() {
			return fail(s.index, orchpb.ResultInvalid, "set cluster config: the cluster CA cannot be replaced")
		}
	}
	// Only RotateCA moves a CA replacement on.
	next.Rotation, next.PreviousCertPem, next.CrossPem = s.config.GetRotation(), s.config.GetPreviousCertPem(), s.config.GetCrossPem()
	if (next.GetCaCertPem() == "") != (next.GetCaKeyPem() == "") {
		return fail(s.index, orchpb.ResultInvalid, "set cluster config: the CA needs both its certificate and its key")
	}
	s.config = next
	s.subnetHint = 0 // the CIDR may have changed
	return &orchpb.CommandResult{}
}
