package integration

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/client"
)

// TestNodeMetrics reads an agent's metrics through the master (GET
// /v1/nodes/{id}/metrics): the agent counts the replicas it runs and its
// containerd calls, and the master's own registry counts the same replicas.
func TestNodeMetrics(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	d.apply(helloYAML)
	d.running("hello", 3)
	nodes, _, err := d.api.ListNodes(t.Context())
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes: %v %v", nodes, err)
	}
	for path, wants := range map[string][]string{
		"/v1/nodes/" + nodes[0].GetName() + "/metrics": {
			`orch_agent_replicas{state="running"} 3`,
			`orch_agent_runtime_call_duration_seconds_count{call="start",result="ok"}`,
			`orch_dns_queries_total`,
		},
		"/metrics": {`orch_replicas{state="running"} 3`, `orch_store_objects{kind="node"} 1`},
	} {
		d.eventually(path+" shows "+strings.Join(wants, ", "), func() error {
			text, err := d.getText(path)
			if err != nil {
				return err
			}
			for _, want := range wants {
				if !strings.Contains(text, want) {
					return fmt.Errorf("missing %s", want)
				}
			}
			return nil
		})
	}
}

// getText GETs path from the master with the admin token and answers the
// body as text (the Go client speaks JSON only).
func (d *devCluster) getText(path string) (string, error) {
	cfg, _, err := client.LoadConfig(d.adminConf())
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(cfg.CA))
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest(http.MethodGet, strings.Split(cfg.Server, ",")[0]+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return string(body), err
}
