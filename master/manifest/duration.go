package manifest

import "time"

// Duration parses a duration field of a validated spec, returning def for an
// empty (unset) one. Validation has already refused unparsable text; should
// one reach here anyway, def is the safe answer.
func Duration(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return def
	}
	return d
}
