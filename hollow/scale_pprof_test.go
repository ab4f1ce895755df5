package hollow_test

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	_ "net/http/pprof" // profiles of the hollow process, on ORCH_SCALE_PPROF only
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/orch-io/orch/hollow"
)

// reasonsText lists counts by reason, most first, one per line.
func reasonsText(by map[string]int64) string {
	reasons := slices.Collect(maps.Keys(by))
	slices.SortFunc(reasons, func(a, b string) int { return cmp.Compare(by[b], by[a]) })
	var sb strings.Builder
	for _, r := range reasons {
		fmt.Fprintf(&sb, "\n  %7d  %s", by[r], r)
	}
	return sb.String()
}

// serveFleetBreaks adds the fleet's broken streams by reason to the
// profiles' server (ORCH_SCALE_PPROF), at /debug/hollow/breaks: why nodes
// reconnect, while a run lasts.
func serveFleetBreaks(f *hollow.Fleet) {
	if os.Getenv("ORCH_SCALE_PPROF") == "" {
		return
	}
	http.HandleFunc("/debug/hollow/breaks", func(w http.ResponseWriter, _ *http.Request) {
		n, _ := f.StreamBreaks()
		fmt.Fprintf(w, "%d streams broken%s\n", n, reasonsText(f.StreamBreakReasons()))
	})
}

// serveHollowProfiles serves this process's Go profiles (the hollow nodes,
// the readers) on ORCH_SCALE_PPROF's address, e.g. 127.0.0.1:6080, while a
// scale run lasts: the process competes with the masters for the cores, and
// what it spends is half of what a run at 5,000 nodes measures.
func serveHollowProfiles(b *testing.B) {
	addr := os.Getenv("ORCH_SCALE_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		b.Fatalf("ORCH_SCALE_PPROF=%q: %v", addr, err)
	}
	srv := &http.Server{Handler: http.DefaultServeMux}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Logf("hollow profiles: %v", err)
		}
	}()
	b.Cleanup(func() {
		srv.Close()
		<-done
	})
}
