package measure

import (
	"strconv"
	"strings"
)

// PromValue sums the samples of metric name in a Prometheus text page
// whose labels include every pair of labels (nil: all of its series). ok
// is false when no sample matched.
func PromValue(page, name string, labels map[string]string) (sum float64, ok bool) {
	for _, line := range strings.Split(page, "\n") {
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		var have map[string]string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			have, rest = parseLabels(rest[1:end]), rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric whose name begins with name
		}
		if !hasLabels(have, labels) {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		sum, ok = sum+v, true
	}
	return sum, ok
}

// parseLabels reads a="x",b="y" (values without escaped quotes: enough
// for orch's own label values).
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, found := strings.Cut(pair, "=")
		if !found {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
