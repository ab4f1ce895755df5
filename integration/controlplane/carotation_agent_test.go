package controlplane

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/agent/runtime/containerdproc/containerdtest"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/pki"
)

// agentRig is 3 masters and a real agent (containerd) running hello,
// asked at its overlay address from this host (a host port bound to the
// advertised 127.0.0.1 is not DNATed: loopback would need route_localnet), an orchctl config naming every master with the
// admin credential as bootstrap wrote it (trusting the first CA, A), and a
// client certificate A signed. TestCARotation proves the rotation with
// hollow nodes; this rig proves it with the real agent's TLS: its
// connections to the masters, its own endpoint, its ca.crt.
type agentRig struct {
	c        *cluster
	addr     string // hello's replica, IP:8080
	conf     string // an orchctl config naming every master, CA A
	agentDir string
	aSigned  tls.Certificate
}

func newAgentRig(tb testing.TB) *agentRig {
	ctrd := containerdtest.Start(tb) // skips without root or containerd
	c := newCluster(tb, 3, "--cluster-cidr", agentCIDR, "--node-timeout", "10s")
	if out, err := c.orchctl(c.masters[1].url(), "image", "load", helloTar(tb)); err != nil {
		tb.Fatalf("orchctl image load: %v\n%s", err, out)
	}
	agentDir := startAgent(tb, c, ctrd.Socket())
	body := []byte(`{"kind":"Service","name":"hello","replicas":1,"image":"orch.local/hello:1","args":["--port=8080"],` +
		`"ports":[{"name":"http","port":8080}],"resources":{"cpu":"100m","memory":"32Mi"},"stopGracePeriod":"2s"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	code, out, _, err := c.do(ctx, http.MethodPut, c.masters[0].url(), "/v1/namespaces/default/services/hello", body, nil)
	cancel()
	if err != nil || code != http.StatusCreated {
		tb.Fatalf("apply hello: %d %s %v", code, out, err)
	}
	rep := runningHello(tb, c)
	r := &agentRig{c: c, agentDir: agentDir, addr: net.JoinHostPort(rep.IP, "8080"), conf: filepath.Join(tb.TempDir(), "config")}
	c.eventually("hello to answer at its overlay address", func() error { return r.askService(&http.Client{Timeout: 2 * time.Second}) })
	var urls []string
	for _, m := range c.masters {
		urls = append(urls, m.url())
	}
	if err := client.WriteConfig(r.conf, &client.Config{Server: strings.Join(urls, ","), Token: c.admin, CA: string(c.ca)}); err != nil {
		tb.Fatal(err)
	}
	a, err := pki.LoadCA(filepath.Join(c.masters[0].dir, "pki"))
	if err != nil {
		tb.Fatal(err)
	}
	if r.aSigned, err = a.IssueMaster([]string{"127.0.0.1"}); err != nil {
		tb.Fatal(err)
	}
	return r
}

func (r *agentRig) askService(hc *http.Client) error {
	resp, err := hc.Get("http://" + r.addr + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hello answered %s", resp.Status)
	}
	return nil
}

// load asks the service and, with the admin credential trusting only A,
// the API, until stop is called; stop returns how many of each failed.
func (r *agentRig) load(tb testing.TB) (stop func() (total, failed int64, errs []string)) {
	admin, err := client.New(&client.Config{Server: r.c.masters[0].url() + "," + r.c.masters[1].url() + "," + r.c.masters[2].url(),
		Token: r.c.admin, CA: string(r.c.ca)})
	if err != nil {
		tb.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	var total, failed atomic.Int64
	var mu sync.Mutex
	var errs []string
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for _, err := range []error{r.askService(hc), apiRead(ctx, admin)} {
				total.Add(1)
				if err != nil {
					failed.Add(1)
					mu.Lock()
					errs = append(errs, time.Now().Format(time.StampMilli)+" "+err.Error())
					mu.Unlock()
				}
			}
			cancel()
		}
	}()
	return func() (int64, int64, []string) {
		close(done)
		wg.Wait()
		return total.Load(), failed.Load(), errs
	}
}

// apiRead is a request any master answers alone, over TLS, as the admin.
func apiRead(ctx context.Context, admin *client.Client) error {
	_, err := admin.Do(ctx, http.MethodGet, "/v1/nodes?stale=true", nil, nil)
	return err
}

// rotate runs `orchctl ca rotate` with the rig's config and returns its
// output.
func (r *agentRig) rotate(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, orchctlBin, "--config", r.conf, "ca", "rotate").CombinedOutput()
	return string(out), err
}

// clientCertAccepted reports whether the API at m accepts cert as a
// client certificate (a TLS 1.3 server's refusal arrives with the first
// read).
func clientCertAccepted(m *master, cert tls.Certificate) error {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: &tls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // the server's verdict is tested
	conn, err := d.Dial("tcp", m.apiAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	_, err = io.ReadAll(conn)
	return err
}

// TestCARotateWithAgent replaces the cluster CA with `orchctl ca rotate`
// while a service on a real agent answers and the admin reads the API
// with a credential trusting only the first CA (A). The leader is killed
// once the rotation started and comes back. No request fails; orchctl's
// own config ends with B and works; the old admin config still works; a
// client certificate A signed is refused once A is retired; the masters'
// data directories hold B; and the agent, whose ca.crt now holds B, still
// follows its stream.
func TestCARotateWithAgent(t *testing.T) {
	r := newAgentRig(t)
	c := r.c
	if err := clientCertAccepted(c.masters[0], r.aSigned); err != nil {
		t.Fatalf("before the rotation, an A-signed client certificate: %v", err)
	}
	stop := r.load(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type result struct {
		out string
		err error
	}
	rotated := make(chan result, 1)
	go func() { out, err := r.rotate(ctx); rotated <- result{out, err} }()
	c.eventually("the rotation to start", func() error {
		st, err := c.rotationOf(c.masters[0])
		if err == nil && st.Phase == "" {
			err = fmt.Errorf("no rotation yet")
		}
		return err
	})
	leader := c.leader()
	leader.kill9()
	leader.start()
	res := <-rotated
	total, failed, errs := stop()
	if res.err != nil {
		t.Fatalf("orchctl ca rotate: %v\n%s", res.err, res.out)
	}
	t.Logf("orchctl ca rotate:\n%s", res.out)
	if failed > 0 {
		t.Errorf("%d of %d requests failed during the rotation:\n%s", failed, total, strings.Join(errs[:min(len(errs), 20)], "\n"))
	}
	for _, phase := range []string{"trust:", "sign:", "retired:"} {
		if !strings.Contains(res.out, phase) {
			t.Errorf("orchctl ca rotate did not print %q", phase)
		}
	}
	checkAgentRetired(t, r)
}

// checkAgentRetired checks the cluster after a rotation: B in orchctl's
// config and on every master's disk, the old admin config working, A's
// client certificates refused, the agent trusting B and taking new work.
func checkAgentRetired(t *testing.T, r *agentRig) {
	c := r.c
	cfg, _, err := client.LoadConfig(r.conf)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CA == string(c.ca) {
		t.Error("orchctl ca rotate left A in its config")
	}
	if out, err := exec.Command(orchctlBin, "--config", r.conf, "get", "nodes").CombinedOutput(); err != nil {
		t.Errorf("orchctl with the new config: %v\n%s", err, out)
	}
	if out, err := c.orchctl(c.masters[2].url(), "get", "nodes"); err != nil { // a config holding A, as admin.conf does
		t.Errorf("orchctl with the old admin config: %v\n%s", err, out)
	}
	c.eventually("every master to refuse A's client certificates", func() error {
		for _, m := range c.live() {
			if err := clientCertAccepted(m, r.aSigned); err == nil {
				return fmt.Errorf("%s accepted a client certificate A signed after A was retired", m.id)
			}
		}
		return nil
	})
	for _, m := range c.masters {
		if saved, err := os.ReadFile(filepath.Join(m.dir, "pki", "ca.crt")); err != nil || string(saved) == string(c.ca) {
			t.Errorf("%s: pki/ca.crt is still A (%v)", m.id, err)
		}
	}
	c.eventually("the agent's ca.crt to hold B alone", func() error {
		saved, err := os.ReadFile(filepath.Join(r.agentDir, "ca.crt"))
		if err != nil {
			return err
		}
		if got, want := pemDERs(saved), pemDERs([]byte(cfg.CA)); len(got) != 1 || len(want) != 1 || got[0] != want[0] {
			return fmt.Errorf("ca.crt holds %d certificates, not B alone", len(got))
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, out, _, err := c.do(ctx, http.MethodPost, c.masters[1].url(), "/v1/namespaces/default/services/hello/scale", []byte(`{"replicas":0}`), nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("scale hello to 0: %d %s %v", code, out, err)
	}
	c.eventually("the agent to stop hello (it follows its stream after the rotation)", func() error {
		if err := r.askService(&http.Client{Timeout: time.Second}); err == nil {
			return fmt.Errorf("hello still answers")
		}
		return nil
	})
}

// pemDERs are the certificates of a PEM bundle, as strings of DER.
func pemDERs(data []byte) []string {
	var out []string
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return out
		}
		out = append(out, string(block.Bytes))
	}
}
