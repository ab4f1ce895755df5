package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/e2e/harness"
	orchpb "github.com/orch-io/orch/proto"
)

// replicaAPI calls the sample workload's endpoints on a replica, from the
// host it runs on.
type replicaAPI struct {
	h   *harness.Host
	rep *orchpb.Replica
}

func (r replicaAPI) get(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return r.h.Get(ctx, "http://"+r.rep.GetIp()+":8080"+path)
}

// resolve asks the replica what name resolves to, through its own
// resolv.conf: the node's DNS server.
func (r replicaAPI) resolve(name string) ([]string, error) {
	body, err := r.get("/resolve?name=" + url.QueryEscape(name))
	if err != nil {
		return nil, err
	}
	ips := strings.Fields(body)
	slices.Sort(ips)
	return ips, nil
}

// fetch has the replica GET target and returns the body of a 200 answer.
func (r replicaAPI) fetch(target string) (string, error) {
	body, err := r.get("/fetch?url=" + url.QueryEscape(target))
	if err != nil {
		return "", err
	}
	status, rest, _ := strings.Cut(body, "\n\n")
	if status != "status: 200" {
		return "", fmt.Errorf("fetch %s from %s: %s", target, r.rep.DisplayName(), status)
	}
	return rest, nil
}

// hostname is what the sample workload's / says its hostname is.
func hostname(body string) string {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "hostname: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func ipsOf(reps []*orchpb.Replica) []string {
	var out []string
	for _, r := range reps {
		out = append(out, r.GetIp())
	}
	slices.Sort(out)
	return out
}

func onHost(c *harness.Cluster, reps []*orchpb.Replica, h *harness.Host) []*orchpb.Replica {
	var out []*orchpb.Replica
	for _, r := range reps {
		if c.HostOf(r) == h {
			out = append(out, r)
		}
	}
	return out
}

const helloYAML = `
kind: Service
name: hello
replicas: 6
image: orch.local/hello:1
ports:
  - {name: http, port: 8080}
health:
  http: {path: /healthz, port: 8080}
  interval: 1s
  timeout: 500ms
  retries: 2
placement:
  spreadBy: host
resources: {cpu: 50m, memory: 32Mi}
stopGracePeriod: 2s
`

const webYAML = `
kind: Service
name: web
replicas: 1
image: orch.local/hello:1
ports:
  - {name: http, port: 8080, hostPort: 18080}
placement:
  constraints: ["node.name == h2"]
resources: {cpu: 50m, memory: 32Mi}
stopGracePeriod: 2s
`
