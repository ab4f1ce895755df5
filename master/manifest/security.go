package manifest

import (
	"strconv"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// MaxPids bounds resources.pids: the kernel's own ceiling on pid numbers
// (PID_MAX_LIMIT on 64-bit), so any larger value could only be a typo.
const MaxPids = 1 << 22

// AllowedCapabilities are the capabilities capabilities.add accepts: those a
// Docker container gets by default. orch's default set is the same less
// NET_RAW, so in practice add grants NET_RAW (ping, raw sockets) and the rest
// are accepted so that a list written for Docker or Kubernetes is not refused
// for naming what a container already has. Every capability outside it
// either lets a container out (SYS_ADMIN mounts, SYS_MODULE loads kernel
// code, SYS_RAWIO and DAC_READ_SEARCH read the host's disks and files,
// SYS_PTRACE enters other processes), reaches the node's shared state
// (NET_ADMIN rewrites the replica's overlay address and routes, SYS_TIME
// the node's clock, SYS_BOOT reboots it) or widens the seccomp profile,
// which allows more system calls for several of them. docs/manifest.md
// gives the list to users.
var AllowedCapabilities = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// validateSecurity checks a container's user and capabilities; prefix is
// "" for the main container, like "sidecars[0]" for another.
func validateSecurity(l *errorList, prefix, user string, caps *orchpb.Capabilities) {
	if user != "" {
		if msg := userProblem(user); msg != "" {
			l.add(child(prefix, "user"), "%s", msg)
		}
	}
	seen := map[string]int{}
	for i, c := range caps.GetAdd() {
		at := index(child(prefix, "capabilities.add"), i)
		if msg := capabilityProblem(c); msg != "" {
			l.add(at, "%s", msg)
		} else if j, dup := seen[c]; dup {
			l.add(at, "%s is already %s[%d]", c, child(prefix, "capabilities.add"), j)
		} else {
			seen[c] = i
		}
	}
}

// capabilityProblem says why c is refused, or "" when it is allowed.
func capabilityProblem(c string) string {
	canonical := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
	for _, a := range AllowedCapabilities {
		if a == c {
			return ""
		}
		if a == canonical {
			return "write " + a + " (upper case, without CAP_)"
		}
	}
	return strconv.Quote(c) + " is not allowed: capabilities.add takes only " +
		strings.Join(AllowedCapabilities, ", ") + " (docs/manifest.md says why)"
}

// userProblem checks UID[:GID] or NAME[:GROUP] (either part may be a number
// or a name). Names are resolved in the image when the container is
// created, so only their form is checked here.
func userProblem(u string) string {
	user, group, hasGroup := strings.Cut(u, ":")
	if msg := userPartProblem(user); msg != "" {
		return "user " + msg + ` (want UID, UID:GID, NAME or NAME:GROUP, like "1000" or "1000:1000")`
	}
	if hasGroup {
		if msg := userPartProblem(group); msg != "" {
			return "group " + msg + ` (want UID, UID:GID, NAME or NAME:GROUP, like "1000" or "1000:1000")`
		}
	}
	return ""
}

// userPartProblem checks one side of user: a number up to 2^31-1 (as
// Kubernetes' runAsUser) or a name as useradd accepts it by default.
func userPartProblem(p string) string {
	switch {
	case p == "":
		return "is empty"
	case p[0] >= '0' && p[0] <= '9':
		if _, err := strconv.ParseUint(p, 10, 31); err != nil {
			return strconv.Quote(p) + " is not a number from 0 to 2147483647"
		}
		return ""
	case len(p) > 32:
		return strconv.Quote(p) + " is longer than 32 characters"
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		ok := c >= 'a' && c <= 'z' || c == '_' ||
			i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.' || c == '$' && i == len(p)-1)
		if !ok {
			return strconv.Quote(p) + " is not a name: lower-case letters, digits, '_', '-' and '.', starting with a letter or '_'"
		}
	}
	return ""
}
