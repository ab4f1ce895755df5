package api

import (
	"fmt"
	"strings"
)

// MaxPathNameLen bounds an id or name that becomes one element of a file
// path (a replica's log and state files, an image's tarball): with the
// suffixes added to it, it stays far below the file systems' 255 bytes.
const MaxPathNameLen = 128

// CheckPathName refuses an id or name that would not stay one harmless
// element of a file path: empty, ".", "..", overlong, or holding a slash,
// a backslash or a control character (NUL included). kind names what s is,
// for the message. Whatever arrives in a request or over the wire is
// checked with it before it reaches filepath.Join: a path parameter is a
// claim, not a proof.
func CheckPathName(kind, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s: empty", kind)
	case s == "." || s == "..":
		return fmt.Errorf("%s %q: not a name", kind, s)
	case len(s) > MaxPathNameLen:
		return fmt.Errorf("%s: %d bytes, longer than %d", kind, len(s), MaxPathNameLen)
	case strings.ContainsAny(s, `/\`):
		return fmt.Errorf("%s %q: holds a path separator", kind, s)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%s %q: holds a control character", kind, s)
		}
	}
	return nil
}
