package runtime

import (
	"fmt"

	"github.com/containerd/errdefs"
)

// wrap names the object and turns containerd's error kinds into ours, keeping
// the original in the chain.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	switch {
	case errdefs.IsNotFound(err):
		return fmt.Errorf("%s: %w: %w", msg, ErrNotFound, err)
	case errdefs.IsAlreadyExists(err):
		return fmt.Errorf("%s: %w: %w", msg, ErrAlreadyExists, err)
	default:
		return fmt.Errorf("%s: %w", msg, err)
	}
}
