package manifest

import (
	"regexp"
	"strings"
)

var (
	dnsLabel  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	labelName = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	envName   = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)

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
	if len(s) > 63 || !dnsLabel.MatchString(s) {
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
	if len(name) > 63 || !labelName.MatchString(name) {
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
	if len(s) > 63 || !labelName.MatchString(s) {
		return "value must be at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
	}
	return ""
}

func validImage(s string) bool {
	name, _, _ := strings.Cut(s, "@")
	return len(name) <= 255 && len(s) <= 512 && imageRef.MatchString(s)
}
