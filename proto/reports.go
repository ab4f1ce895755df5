package orchpb

// Bare reports whether a status report says nothing but that its node is
// alive: a heartbeat. A follower answers bare reports itself, and an agent
// may send them up its assignment stream instead of as requests.
func (r *StatusReport) Bare() bool {
	return len(r.GetStatuses()) == 0 && len(r.GetVolumeUsage()) == 0 && r.GetCaDigest() == "" && r.GetCertIssuer() == ""
}
