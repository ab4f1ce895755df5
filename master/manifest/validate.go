package manifest

import (
	"slices"
	"strconv"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
	"github.com/orch-io/orch/scheduler"
	"google.golang.org/protobuf/types/known/durationpb"
)

// MaxReplicas bounds replicas: far above any real service, low enough that
// a typo (30000 for 3) is refused instead of flooding the scheduler.
const MaxReplicas = 10000

// Validate checks a spec in proto form and returns nil, a *FieldError, or an
// error that unwraps to several, the first being the first in manifest
// order. It accepts a spec with or without Default applied: an empty field
// that has a default is valid.
func Validate(spec *orchpb.ServiceSpec) error {
	if spec == nil {
		return &FieldError{Message: "missing service spec"}
	}
	var l errorList
	validateMeta(&l, spec)
	validatePorts(&l, spec.Ports)
	validateResources(&l, "resources", spec.Resources)
	validateHealth(&l, spec.Health)
	validateRestart(&l, spec.Restart)
	validatePlacement(&l, spec.Placement)
	validateScheduling(&l, spec)
	validateUpdate(&l, spec.Update)
	validateJob(&l, spec)
	validateCanary(&l, spec)
	if d := spec.GetDisruption(); d != nil && d.MaxUnavailable != nil {
		switch {
		case d.GetMaxUnavailable() < 0:
			l.add("disruption.maxUnavailable", "must be >= 0")
		case d.GetMaxUnavailable() > MaxReplicas:
			l.add("disruption.maxUnavailable", "must be at most %d", MaxReplicas)
		}
	}
	l.duration("stopGracePeriod", spec.StopGracePeriod, false)
	for _, k := range sortedKeys(spec.Labels) {
		p := key("labels", k)
		if msg := labelKeyProblem(k); msg != "" {
			l.add(p, "%s", msg)
		} else if msg := labelValueProblem(spec.Labels[k]); msg != "" {
			l.add(p, "%s", msg)
		}
	}
	validateSecurity(&l, "", spec.User, spec.GetCapabilities())
	validateContainers(&l, spec)
	validateDataRefs(&l, spec)
	return l.err()
}

func validateMeta(l *errorList, s *orchpb.ServiceSpec) {
	if s.Kind != "" && s.Kind != orchpb.KindService && s.Kind != orchpb.KindJob {
		l.add("kind", "must be %s or %s, not %q", orchpb.KindService, orchpb.KindJob, s.Kind)
	}
	if s.Name == "" {
		l.add("name", "required")
	} else if msg := dnsLabelProblem(s.Name); msg != "" {
		l.add("name", "%s", msg)
	}
	if s.Namespace != "" {
		if msg := dnsLabelProblem(s.Namespace); msg != "" {
			l.add("namespace", "%s", msg)
		}
	}
	if s.Replicas != nil {
		switch r := *s.Replicas; {
		case r < 0:
			l.add("replicas", "must be >= 0")
		case r > MaxReplicas:
			l.add("replicas", "must be at most %d", MaxReplicas)
		}
	}
	switch s.Mode {
	case "", orchpb.ModeReplicated, orchpb.ModeGlobal:
	default:
		l.add("mode", "must be %s or %s, not %q", orchpb.ModeReplicated, orchpb.ModeGlobal, s.Mode)
	}
	validateProcess(l, "", s.Image, s.Command, s.Env)
}

// validateProcess checks what every container has, the main one (prefix
// "") or another (prefix "sidecars[0]").
func validateProcess(l *errorList, prefix, image string, command []string, env map[string]string) {
	if image == "" {
		l.add(child(prefix, "image"), "required")
	} else if !validImage(image) {
		l.add(child(prefix, "image"), "%q is not an image reference (like orch.local/hello:1 or docker.io/library/nginx:1.27)", image)
	}
	if len(command) > 0 && command[0] == "" {
		l.add(child(prefix, "command[0]"), "must not be empty")
	}
	for _, k := range sortedKeys(env) {
		p := key(child(prefix, "env"), k)
		if !isEnvName(k) {
			l.add(p, "must be a variable name: letters, digits, '_', '-' and '.', not starting with a digit")
		} else if strings.IndexByte(env[k], 0) >= 0 {
			l.add(p, "must not contain a NUL byte")
		}
	}
}

func validatePorts(l *errorList, ports []*orchpb.Port) {
	names := map[string]int{}
	ports2 := map[string]int{}
	hostPorts := map[string]int{}
	for i, p := range ports {
		at := index("ports", i)
		if p == nil {
			l.add(at, "must not be empty")
			continue
		}
		if p.Name != "" {
			if msg := dnsLabelProblem(p.Name); msg != "" {
				l.add(child(at, "name"), "%s", msg)
			} else if j, dup := names[p.Name]; dup {
				l.add(child(at, "name"), "%q is already the name of ports[%d]", p.Name, j)
			} else {
				names[p.Name] = i
			}
		}
		protocol := p.Protocol
		if protocol == "" {
			protocol = orchpb.DefaultProtocol
		}
		if protocol != "tcp" && protocol != "udp" {
			l.add(child(at, "protocol"), "must be tcp or udp, not %q", p.Protocol)
		}
		if p.Port < 1 || p.Port > 65535 {
			l.add(child(at, "port"), "must be 1-65535")
		} else {
			k := strconv.Itoa(int(p.Port)) + "/" + protocol
			if j, dup := ports2[k]; dup {
				l.add(child(at, "port"), "%s is already ports[%d]", k, j)
			} else {
				ports2[k] = i
			}
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			l.add(child(at, "hostPort"), "must be 0-65535")
		} else if p.HostPort > 0 {
			k := strconv.Itoa(int(p.HostPort)) + "/" + protocol
			if j, dup := hostPorts[k]; dup {
				l.add(child(at, "hostPort"), "%s is already published by ports[%d]", k, j)
			} else {
				hostPorts[k] = i
			}
		}
	}
}

// validateResources checks the resources at path (resources, or
// sidecars[0].resources).
func validateResources(l *errorList, path string, r *orchpb.Resources) {
	if r == nil {
		return
	}
	if r.Cpu != "" {
		if v, err := ParseCPU(r.Cpu); err != nil {
			l.add(child(path, "cpu"), "%v", err)
		} else if v <= 0 {
			l.add(child(path, "cpu"), "must be > 0")
		}
	}
	if r.Memory != "" {
		if v, err := ParseMemory(r.Memory); err != nil {
			l.add(child(path, "memory"), "%v", err)
		} else if v <= 0 {
			l.add(child(path, "memory"), "must be > 0")
		}
	}
	if r.Pids < 0 || r.Pids > MaxPids {
		l.add(child(path, "pids"), "must be 1-%d (0 or unset takes the default, %d)", MaxPids, orchpb.DefaultPids)
	}
}

func validateHealth(l *errorList, h *orchpb.HealthCheck) {
	if h == nil {
		return
	}
	var kinds []string
	if h.Http != nil {
		kinds = append(kinds, "http")
		if h.Http.Path != "" && !strings.HasPrefix(h.Http.Path, "/") {
			l.add("health.http.path", "must start with '/'")
		}
		checkPort(l, "health.http.port", h.Http.Port)
	}
	if h.Tcp != nil {
		kinds = append(kinds, "tcp")
		checkPort(l, "health.tcp.port", h.Tcp.Port)
	}
	if h.Exec != nil {
		kinds = append(kinds, "exec")
		if len(h.Exec.Command) == 0 || h.Exec.Command[0] == "" {
			l.add("health.exec.command", "must not be empty")
		}
	}
	switch {
	case len(kinds) == 0:
		l.add("health", "needs one of http, tcp or exec")
	case len(kinds) > 1:
		l.add("health."+kinds[1], "only one of http, tcp or exec may be given (also %s)", kinds[0])
	}
	l.duration("health.interval", h.Interval, true)
	l.duration("health.timeout", h.Timeout, true)
	if h.Retries < 0 {
		l.add("health.retries", "must be >= 1")
	}
	l.duration("health.startPeriod", h.StartPeriod, false)
}

// checkPort reports a port that is unset (0, when no service port gave a
// default) or out of range.
func checkPort(l *errorList, field string, port int32) {
	if port < 1 || port > 65535 {
		l.add(field, "must be 1-65535")
	}
}

func validateRestart(l *errorList, r *orchpb.RestartPolicy) {
	if r == nil {
		return
	}
	switch r.Policy {
	case "", orchpb.RestartAlways, orchpb.RestartOnFailure, orchpb.RestartNever:
	default:
		l.add("restart.policy", "must be %s, %s or %s, not %q",
			orchpb.RestartAlways, orchpb.RestartOnFailure, orchpb.RestartNever, r.Policy)
	}
	okI := l.duration("restart.backoffInitial", r.BackoffInitial, true)
	okM := l.duration("restart.backoffMax", r.BackoffMax, true)
	if initial, maxB := r.BackoffInitialOrDefault(), r.BackoffMaxOrDefault(); okI && okM && initial > maxB {
		l.add("restart.backoffInitial", "must be <= restart.backoffMax (%s)", orchpb.FormatDuration(maxB))
	}
}

func validatePlacement(l *errorList, p *orchpb.Placement) {
	if p == nil {
		return
	}
	for i, c := range p.Constraints {
		if _, err := scheduler.ParseConstraint(c); err != nil {
			l.add(index("placement.constraints", i), "%v", err)
		}
	}
	if p.SpreadBy != "" {
		if msg := labelKeyProblem(p.SpreadBy); msg != "" {
			l.add("placement.spreadBy", "%s", msg)
		}
	}
	switch p.Strategy {
	case "", orchpb.StrategySpread, orchpb.StrategyBinpack:
	default:
		l.add("placement.strategy", "must be %s or %s, not %q", orchpb.StrategySpread, orchpb.StrategyBinpack, p.Strategy)
	}
	if p.MaxPerNode < 0 {
		l.add("placement.maxPerNode", "must be >= 0 (0 means no limit)")
	}
}

func validateUpdate(l *errorList, u *orchpb.UpdatePolicy) {
	if u == nil {
		return
	}
	surge, unavailable := u.MaxSurgeOrDefault(), u.MaxUnavailableOrDefault()
	switch {
	case surge < 0:
		l.add("update.maxSurge", "must be >= 0")
	case surge > MaxReplicas:
		l.add("update.maxSurge", "must be at most %d", MaxReplicas)
	}
	switch {
	case unavailable < 0:
		l.add("update.maxUnavailable", "must be >= 0")
	case unavailable > MaxReplicas:
		l.add("update.maxUnavailable", "must be at most %d", MaxReplicas)
	}
	if surge == 0 && unavailable == 0 {
		l.add("update.maxSurge", "must be > 0 when update.maxUnavailable is 0, or no update could start")
	}
	okH := l.duration("update.minHealthy", u.MinHealthy, false)
	okD := l.duration("update.deadline", u.Deadline, true)
	if minHealthy := u.MinHealthyOrDefault(); okH && okD && minHealthy >= u.DeadlineOrDefault() {
		l.add("update.deadline", "must be longer than update.minHealthy (%s), or no replica could pass", orchpb.FormatDuration(minHealthy))
	}
	switch u.OnFailure {
	case "", orchpb.OnFailureRollback, orchpb.OnFailurePause:
	default:
		l.add("update.onFailure", "must be %s or %s, not %q", orchpb.OnFailureRollback, orchpb.OnFailurePause, u.OnFailure)
	}
}

// duration checks the sign of a duration field and reports whether it was
// accepted. Unset is valid (the default applies); the text was parsed at
// admission (checkSchema), so only the value is left to check.
func (l *errorList) duration(field string, d *durationpb.Duration, positive bool) bool {
	if d == nil {
		return true
	}
	if err := d.CheckValid(); err != nil {
		l.add(field, "%v", err)
		return false
	}
	switch v := d.AsDuration(); {
	case positive && v <= 0:
		l.add(field, "must be > 0")
		return false
	case v < 0:
		l.add(field, "must be >= 0")
		return false
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validateCanary checks update.canary and update.autoPromote: a canary
// stage needs slots, so global services have none.
func validateCanary(l *errorList, spec *orchpb.ServiceSpec) {
	u := spec.GetUpdate()
	switch {
	case u.GetCanary() < 0:
		l.add("update.canary", "must be >= 0")
	case u.GetCanary() > 0 && spec.GetMode() == orchpb.ModeGlobal:
		l.add("update.canary", "a global service has no slots to try first: only replicated services have canaries")
	case u.GetCanary() > MaxReplicas:
		l.add("update.canary", "must be at most %d", MaxReplicas)
	}
	if l.duration("update.autoPromote", u.GetAutoPromote(), true) && u.GetAutoPromote() != nil && u.GetCanary() == 0 {
		l.add("update.autoPromote", "needs update.canary: there is nothing to promote without canaries")
	}
}
