package hollow_test

import (
	"errors"
	"net"
	"net/http"
	_ "net/http/pprof" // profiles of the hollow process, on ORCH_SCALE_PPROF only
	"os"
	"testing"
)

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
