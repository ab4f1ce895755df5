package hollow_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/internal/measure"
)

// The readers run in a process of their own: this test binary started
// again with readerEnv set (TestMain). In the benchmark's process they
// shared a run queue with thousands of hollow agents, and their latency
// was mostly the wait for a core there; a real client has a machine, or at
// least a process, of its own.
const (
	readerEnv      = "ORCH_SCALE_READER"       // the master's URL
	readerCAEnv    = "ORCH_SCALE_READER_CA"    // the cluster CA, PEM
	readerTokenEnv = "ORCH_SCALE_READER_TOKEN" // a bearer token
)

// readerProcess is the reader process's main: two readers, each in turn
// reading a service applied so far (GET /v1/services/...) and its
// replicas (GET /v1/replicas?service=...), 100 ms apart: a sample of the
// API's latency, not a load of its own. Applied services arrive on stdin,
// one index a line; each read's latency in nanoseconds (or "failed: why")
// goes to stdout, a line each. It ends when stdin closes.
func readerProcess() int {
	api, err := client.New(&client.Config{Server: os.Getenv(readerEnv), CA: os.Getenv(readerCAEnv), Token: os.Getenv(readerTokenEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "reader:", err)
		return 1
	}
	ctx, stop := context.WithCancel(context.Background())
	applied := &appliedSet{}
	go func() {
		defer stop()
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			if i, err := strconv.Atoi(lines.Text()); err == nil {
				applied.add(i)
			}
		}
	}()
	var out sync.Mutex
	record := func(start time.Time, err error) {
		d := time.Since(start)
		if ctx.Err() != nil {
			return // cut off by the end, not slow
		}
		out.Lock()
		defer out.Unlock()
		if err != nil {
			fmt.Printf("failed: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			return
		}
		fmt.Println(d.Nanoseconds())
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if i, ok := applied.pick(); ok {
					name := fmt.Sprintf("svc-%d", i)
					start := time.Now()
					_, err := api.GetService(ctx, "default", name)
					record(start, err)
					start = time.Now()
					_, _, err = api.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: name})
					record(start, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return 0
}

// startReaders starts the reader process against master m and feeds it
// the services applied so far until ctx ends. The function it returns
// ends the process and answers every read's latency and the failed reads.
func (c *scaleCluster) startReaders(ctx context.Context, m *scaleMaster, applied *appliedSet) func() ([]time.Duration, int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), readerEnv+"="+m.url(), readerCAEnv+"="+c.ca, readerTokenEnv+"="+c.admin)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	var stdout io.ReadCloser
	if err == nil {
		stdout, err = cmd.StdoutPipe()
	}
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		progress("no reader process: %v", err)
		return func() ([]time.Duration, int) { return nil, 0 }
	}
	var samples []time.Duration
	failed := 0
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if ns, err := strconv.ParseInt(lines.Text(), 10, 64); err == nil {
				samples = append(samples, time.Duration(ns))
			} else {
				failed++
			}
		}
	}()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		defer stdin.Close() // the reader process ends
		sent := 0
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, i := range applied.since(sent) {
				if _, err := fmt.Fprintln(stdin, i); err != nil {
					return
				}
				sent++
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() ([]time.Duration, int) {
		<-fed
		<-collected
		if err := cmd.Wait(); err != nil {
			progress("reader process: %v", err)
		}
		return samples, failed
	}
}

// readRoutes are the routes the readers call.
var readRoutes = []string{"GET /v1/namespaces/{ns}/services/{name}", "GET /v1/replicas"}

// servedReads is what master m timed of the readers' reads: its API's
// histogram of their routes (from the handler's start to its end) and
// its read barrier's two stages (a heartbeat round that verifies the
// leadership, then the wait for the store to apply the read index).
// Read before and after placing, the differences tell the master's share
// of a read's latency from that of the reader's process and the network.
type servedReads struct {
	handler, verify, apply measure.Histogram
}

func (c *scaleCluster) servedReads(m *scaleMaster) servedReads {
	page, err := c.metricsPage(m)
	if err != nil {
		progress("no server-side read latency: %v", err)
		return servedReads{}
	}
	var s servedReads
	for _, h := range []struct {
		into   *measure.Histogram
		name   string
		labels map[string]string
		routes []string
	}{
		{&s.handler, "orch_api_request_duration_seconds", nil, readRoutes},
		{&s.verify, "orch_raft_read_index_duration_seconds", map[string]string{"stage": "verify"}, nil},
		{&s.apply, "orch_raft_read_index_duration_seconds", map[string]string{"stage": "apply"}, nil},
	} {
		if *h.into, err = measure.PromHistogram(page, h.name, h.labels, h.routes...); err != nil {
			progress("no server-side read latency: %v", err)
		}
	}
	return s
}

func (s servedReads) sub(before servedReads) servedReads {
	return servedReads{s.handler.Sub(before.handler), s.verify.Sub(before.verify), s.apply.Sub(before.apply)}
}
