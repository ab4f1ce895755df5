package containerdproc

import (
	"context"
	"os"
	"time"

	"github.com/containerd/containerd/v2/client"
)

// answerTimeout bounds one probe, so a wedged daemon reads as "not answering".
const answerTimeout = 2 * time.Second

// Answers reports whether a containerd serves its version API on socket.
func Answers(ctx context.Context, socket string) bool {
	if fi, err := os.Stat(socket); err != nil || fi.Mode()&os.ModeSocket == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	c, err := client.New(socket, client.WithTimeout(answerTimeout))
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.Version(ctx)
	return err == nil
}
