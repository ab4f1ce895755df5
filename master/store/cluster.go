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
	s.config = proto.Clone(cfg).(*orchpb.ClusterConfig)
	return &orchpb.CommandResult{}
}
