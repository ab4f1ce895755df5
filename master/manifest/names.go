package manifest

import (
	"regexp"
	"strings"
)

// The names below are checked by hand rather than with regexp: they sit
// on the API's write path, several per manifest, and a regexp match cost
// more than all the other checks of a field. names_test.go holds them to
// the regexps they replaced.

// isDNSLabel reports whether s matches ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$.
func isDNSLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isLabelName reports whether s matches
// ^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$.
func isLabelName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// isEnvName reports whether s matches ^[-._a-zA-Z][-._a-zA-Z0-9]*$.
func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var (
	// imageRef is the grammar of distribution/reference, the one docker,
	// containerd and kubectl accept: [domain[:port]/]path[:tag][@digest].
	imageRef = func() *regexp.Regexp {
		const (
			alnum      = `[a-z0-9]+`
			separator  = `(?:[._]|__|-+)`
			component  = alnum + `(?:` + separator + alnum + `)*`
			domainPart = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
			host       = `(?:` + domainPart + `(?:\.` + domainPart + `)*|\[[a-fA-F0-9:]+\])`
			domain     = host + `(?::[0-9]+)?`
			name       = `(?:` + domain + `/)?` + component + `(?:/` + component + `)*`
			tag        = `[\w][\w.-]{0,127}`
			digest     = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
		)
		return regexp.MustCompile(`^` + name + `(?::` + tag + `)?(?:@` + digest + `)?$`)
	}()
)

const dnsLabelRule = "must be a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"

// dnsLabelProblem returns why s is not a DNS label, or "".
func dnsLabelProblem(s string) string {
	if len(s) > 63 || !isDNSLabel(s) {
		return dnsLabelRule
	}
	return ""
}

// labelKeyProblem returns why s is not a label key, or "". Keys follow
// kubectl: an optional DNS-subdomain prefix and '/', then a name of at most
// 63 letters, digits, '-', '_' and '.' (so node.name and zone both pass).
func labelKeyProblem(s string) string {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if hasPrefix {
		if prefix == "" || len(prefix) > 253 {
			return "must be a label key: [PREFIX/]NAME with PREFIX a DNS name"
		}
		for _, part := range strings.Split(prefix, ".") {
			if dnsLabelProblem(part) != "" {
				return "must be a label key: [PREFIX/]NAME with PREFIX a DNS name"
			}
		}
	}
	if len(name) > 63 || !isLabelName(name) {
		return "must be a label key: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
	}
	return ""
}

// labelValueProblem returns why s is not a label value, or "". Values may
// be empty.
func labelValueProblem(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 63 || !isLabelName(s) {
		return "value must be at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
	}
	return ""
}

func validImage(s string) bool {
	name, _, _ := strings.Cut(s, "@")
	return len(name) <= 255 && len(s) <= 512 && imageRef.MatchString(s)
}
