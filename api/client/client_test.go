package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

const testToken = "admin-token"

// newServer starts a TLS server whose handler sees only authenticated
// requests, and returns it with a config that trusts it.
func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && r.Header.Get("Authorization") != "Bearer "+testToken {
			api.WriteError(w, &api.Error{Code: api.CodeUnauthorized, Message: "missing or invalid bearer token"})
			return
		}
		h(w, r)
	}))
	// TestUntrustedServerFails provokes handshake errors on purpose.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	// The client accepts only a master's certificate; every test server
	// is a master of one cluster, as httptest's servers share a certificate.
	clusterCA, err := testCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := clusterCA.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &Config{Server: srv.URL, Token: testToken, CA: string(clusterCA.CertPEM())}
}

var testCA = sync.OnceValues(pki.NewCA)

func mustNew(t *testing.T, cfg *Config, opts ...Option) *Client {
	t.Helper()
	c, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleService() *orchpb.Service {
	return &orchpb.Service{
		Spec: &orchpb.ServiceSpec{
			Kind: "Service", Name: "hello", Namespace: "default", Replicas: proto.Int32(3),
			Mode: orchpb.ModeReplicated, Image: "orch.local/hello:1",
			Env:   map[string]string{"GREETING": "hi"},
			Ports: []*orchpb.Port{{Name: "http", Port: 8080, Protocol: "tcp"}},
		},
		Version: 42, Generation: 2, CreateIndex: 10,
		Status: &orchpb.ServiceStatus{Desired: 3, Running: 3, Healthy: 3},
	}
}

func TestServiceRoundTrip(t *testing.T) {
	var gotSpec orchpb.ServiceSpec
	var gotIfMatch string
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		svc := sampleService()
		w.Header().Set(api.HeaderIndex, "42")
		switch r.Method + " " + r.URL.Path {
		case "PUT /v1/namespaces/default/services/hello":
			body, _ := io.ReadAll(r.Body)
			if err := api.Unmarshal(body, &gotSpec); err != nil {
				api.WriteError(w, &api.Error{Code: api.CodeInvalid, Message: err.Error()})
				return
			}
			gotIfMatch = r.Header.Get(api.HeaderIfMatch)
			w.WriteHeader(http.StatusCreated)
		case "GET /v1/namespaces/default/services/hello":
		case "GET /v1/services":
			b, _ := api.MarshalList([]*orchpb.Service{svc, svc})
			w.Write(b)
			return
		default:
			api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "no route " + r.URL.Path})
			return
		}
		b, _ := api.MarshalService(svc)
		w.Write(b)
	})
	c := mustNew(t, cfg)
	ctx := context.Background()

	v := uint64(7)
	got, err := c.ApplyService(ctx, sampleService().Spec, &v)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, sampleService()) {
		t.Errorf("ApplyService = %v", got)
	}
	if !proto.Equal(&gotSpec, sampleService().Spec) || gotIfMatch != "7" {
		t.Errorf("server received spec %v If-Match %q", &gotSpec, gotIfMatch)
	}
	got, err = c.GetService(ctx, "", "hello")
	if err != nil || !proto.Equal(got, sampleService()) {
		t.Errorf("GetService = %v, %v", got, err)
	}
	list, index, err := c.ListServices(ctx, "")
	if err != nil || len(list) != 2 || index != 42 || !proto.Equal(list[1], sampleService()) {
		t.Errorf("ListServices = %v, %d, %v", list, index, err)
	}
}

func TestErrorDecoding(t *testing.T) {
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/namespaces/default/services/bad/scale":
			api.WriteError(w, &api.Error{Code: api.CodeInvalid, Field: "replicas", Message: "must be between 0 and 10000"})
		case "/healthz":
			io.WriteString(w, "ok\n")
		case "/v1/nodes/plain":
			http.Error(w, "upstream broke", http.StatusBadGateway)
		default:
			api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "service default/nope not found"})
		}
	})
	c := mustNew(t, cfg)
	ctx := context.Background()

	_, err := c.ScaleService(ctx, "default", "bad", -1)
	var we *api.Error
	if !errors.As(err, &we) || we.Field != "replicas" || we.Status != 400 {
		t.Fatalf("ScaleService err = %#v", err)
	}
	if err.Error() != "replicas: must be between 0 and 10000" {
		t.Errorf("message = %q", err.Error())
	}
	if _, err := c.GetService(ctx, "default", "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("GetService err = %v, want not_found", err)
	}
	if _, err := c.GetNode(ctx, "plain"); !errors.As(err, &we) || we.Status != 502 || !strings.Contains(we.Message, "upstream broke") {
		t.Errorf("GetNode err = %#v", err)
	}
	bad := mustNew(t, &Config{Server: cfg.Server, Token: "wrong", CA: cfg.CA})
	if _, _, err := bad.ListNodes(ctx); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("wrong token: err = %v", err)
	}
	// Healthz needs no token.
	if err := bad.Healthz(ctx); err != nil {
		t.Errorf("Healthz: %v", err)
	}
}

func TestUntrustedServerFails(t *testing.T) {
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	c := mustNew(t, &Config{Server: cfg.Server, Token: testToken}) // system roots only
	if err := c.Healthz(context.Background()); err == nil {
		t.Fatal("a server signed by an unknown CA was trusted")
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestFailover(t *testing.T) {
	var hitsA, hitsB atomic.Int32
	srvA, cfgA := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hitsA.Add(1)
		api.WriteError(w, &api.Error{Code: api.CodeNoLeader, Message: "no leader"})
	})
	srvB, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hitsB.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/images" {
			fmt.Fprintf(w, `[{"name":"orch.local/hello:1","digest":"sha256:x","size":%d,"version":5}]`, len(body))
			return
		}
		w.Write([]byte(`[]`))
	})
	ctx := context.Background()

	t.Run("connection refused then answer", func(t *testing.T) {
		cfg := &Config{Server: "https://" + closedAddr(t) + ", " + srvB.URL, Token: testToken, CA: cfgA.CA}
		c := mustNew(t, cfg)
		if _, _, err := c.ListNodes(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("503 then answer, and stick to the one that answered", func(t *testing.T) {
		hitsA.Store(0)
		cfg := &Config{Server: srvA.URL + "," + srvB.URL, Token: testToken, CA: cfgA.CA}
		c := mustNew(t, cfg)
		// The tarball is sent twice: failover must replay the body.
		imgs, err := c.LoadImage(ctx, strings.NewReader("tarball-bytes"))
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].Size != int64(len("tarball-bytes")) || imgs[0].Version != 5 {
			t.Errorf("LoadImage = %v", imgs)
		}
		if hitsA.Load() != 1 {
			t.Errorf("server A hits = %d, want 1", hitsA.Load())
		}
		if _, _, err := c.ListImages(ctx); err != nil {
			t.Fatal(err)
		}
		if hitsA.Load() != 1 {
			t.Errorf("second call went to the failing server again (hits %d)", hitsA.Load())
		}
	})
	t.Run("all fail", func(t *testing.T) {
		c := mustNew(t, &Config{Server: srvA.URL + ",https://" + closedAddr(t), Token: testToken, CA: cfgA.CA})
		_, _, err := c.ListNodes(ctx)
		if err == nil {
			t.Fatal("no error when no server answered")
		}
		c = mustNew(t, &Config{Server: srvA.URL, Token: testToken, CA: cfgA.CA})
		if _, _, err := c.ListNodes(ctx); !errors.Is(err, api.ErrNoLeader) {
			t.Errorf("single 503 server: err = %v, want no_leader", err)
		}
	})
}

func TestWatch(t *testing.T) {
	svcEvent, _ := api.NewWatchEvent(11, api.EventPut, api.KindService, sampleService())
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("index") == "1" {
			api.WriteError(w, &api.Error{Code: api.CodeGone, Message: "compacted"})
			return
		}
		if r.URL.Query().Get("index") != "10" || r.URL.Query().Get("kind") != "service" {
			t.Errorf("watch query = %s", r.URL.RawQuery)
		}
		w.Header().Set("Content-Type", api.ContentTypeNDJSON)
		line, _ := jsonLine(svcEvent)
		io.WriteString(w, "\n") // keepalive
		w.Write(line)
		io.WriteString(w, "\n\n")
		w.(http.Flusher).Flush()
		if r.URL.Query().Get("hang") != "" {
			<-r.Context().Done()
		}
	})
	c := mustNew(t, cfg)
	ctx := context.Background()

	events, errc := c.Watch(ctx, 10, api.KindService)
	var got []api.WatchEvent
	for ev := range events {
		got = append(got, ev)
	}
	if err := <-errc; !errors.Is(err, ErrWatchClosed) {
		t.Errorf("watch ended with %v, want ErrWatchClosed", err)
	}
	if len(got) != 1 || got[0].Index != 11 || got[0].Type != api.EventPut {
		t.Fatalf("events = %+v", got)
	}
	m, err := got[0].Message()
	if err != nil || !proto.Equal(m, sampleService()) {
		t.Errorf("event object = %v, %v", m, err)
	}

	events, errc = c.Watch(ctx, 1, "")
	for range events {
		t.Error("event from a compacted watch")
	}
	if err := <-errc; !errors.Is(err, api.ErrGone) {
		t.Errorf("compacted watch err = %v, want gone", err)
	}
}

func TestWatchCancelAndIdle(t *testing.T) {
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	c := mustNew(t, cfg, WithWatchIdleTimeout(0))
	events, errc := c.Watch(ctx, 5, "")
	time.AfterFunc(50*time.Millisecond, cancel)
	for range events {
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled watch err = %v", err)
	}

	c = mustNew(t, cfg, WithWatchIdleTimeout(100*time.Millisecond))
	events, errc = c.Watch(context.Background(), 5, "")
	for range events {
	}
	if err := <-errc; !errors.Is(err, ErrWatchIdle) {
		t.Errorf("silent watch err = %v, want ErrWatchIdle", err)
	}
}

func TestLogsStreamAndQuery(t *testing.T) {
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v1/replicas/hello.2/logs" || q.Get("namespace") != "web" || q.Get("follow") != "true" || q.Get("tail") != "5" {
			t.Errorf("logs request = %s?%s", r.URL.Path, r.URL.RawQuery)
		}
		io.WriteString(w, "line 1\nline 2\n")
	})
	c := mustNew(t, cfg, WithTimeout(time.Nanosecond)) // streams ignore the timeout
	rc, err := c.Logs(context.Background(), "hello.2", "web", true, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "line 1\nline 2\n" {
		t.Errorf("logs = %q, %v", b, err)
	}
}

func TestReplicaFilterAndCluster(t *testing.T) {
	_, cfg := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/replicas":
			if r.URL.RawQuery != "namespace=default&node=n1&service=hello" {
				t.Errorf("replica query = %q", r.URL.RawQuery)
			}
			w.Header().Set(api.HeaderIndex, "9")
			io.WriteString(w, `[{"id":"r1","service":"hello","slot":1,"restarts":2,"version":9}]`)
		case "/v1/cluster":
			io.WriteString(w, `{"clusterId":"c1","leader":"m1","index":9,"members":[{"id":"m1","raftAddress":"127.0.0.1:7401","apiAddress":"127.0.0.1:7400","role":"leader","appliedIndex":9,"healthy":true}]}`)
		}
	})
	c := mustNew(t, cfg)
	reps, index, err := c.ListReplicas(context.Background(), ReplicaFilter{Namespace: "default", Service: "hello", Node: "n1"})
	if err != nil || len(reps) != 1 || reps[0].Restarts != 2 || index != 9 {
		t.Errorf("ListReplicas = %v, %d, %v", reps, index, err)
	}
	cl, err := c.Cluster(context.Background())
	if err != nil || cl.Leader != "m1" || len(cl.Members) != 1 || !cl.Members[0].Healthy || cl.Members[0].AppliedIndex != 9 {
		t.Errorf("Cluster = %+v, %v", cl, err)
	}
}

func jsonLine(ev api.WatchEvent) ([]byte, error) {
	b, err := json.Marshal(ev)
	return append(b, '\n'), err
}
