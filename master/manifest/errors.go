package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// FieldError is one rejected field. Field is the path the user wrote, in
// lowerCamelCase with list indexes from 0: "ports[1].port", "env.GREETING".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// maxReported bounds the message of a manifest that is wrong everywhere (a
// fuzzer's or a wrong file's); the first errors are the useful ones.
const maxReported = 10

// fieldErrors is several FieldErrors in the order they were found. It
// unwraps to them, so errors.As finds the first.
type fieldErrors []*FieldError

func (l fieldErrors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == maxReported {
			fmt.Fprintf(&b, "; and %d more", len(l)-maxReported)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l fieldErrors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// errorList collects FieldErrors so that one pass reports every mistake.
type errorList struct {
	errs fieldErrors
}

func (l *errorList) add(field, format string, args ...any) {
	l.errs = append(l.errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *errorList) ok() bool { return len(l.errs) == 0 }

// err is nil, the one *FieldError, or all of them.
func (l *errorList) err() error {
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	return l.errs
}

// Path helpers: they build field names the way users spell them.

func child(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// key names a map entry: env.GREETING, or labels["app.io/tier"] when the key
// would read ambiguously after a dot.
func key(path, k string) string {
	if k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return path + "." + k
	}
	return path + "[" + strconv.Quote(k) + "]"
}
