package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	mib = 1 << 20
	// maxAllocMB bounds one /alloc call; a memory limit is the real bound.
	maxAllocMB = 1 << 16
	// maxFetchBody bounds what /fetch copies back.
	maxFetchBody = 1 << 20
)

type server struct {
	log       *slog.Logger
	exit      func(code int) // os.Exit; a stub in tests
	unhealthy atomic.Bool
	fetch     *http.Client

	mu   sync.Mutex
	held [][]byte // what /alloc keeps alive
}

func newServer(logger *slog.Logger, exit func(int)) *server {
	return &server{
		log:  logger,
		exit: exit,
		// No kept-alive connections: every /fetch resolves the name and
		// connects again, so fetching a service name shows how DNS spreads
		// requests over its replicas.
		fetch: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("/fail-health", s.handleFailHealth)
	mux.HandleFunc("/heal", s.handleHeal)
	mux.HandleFunc("/crash", s.handleCrash)
	mux.HandleFunc("/alloc", s.handleAlloc)
	mux.HandleFunc("GET /resolve", s.handleResolve)
	mux.HandleFunc("GET /fetch", s.handleFetch)
	mux.HandleFunc("GET /file", s.handleFile)
	mux.HandleFunc("/write", s.handleWrite)
	mux.HandleFunc("GET /env", s.handleEnv)
	return s.logRequests(mux)
}

// handleRoot says who answered: enough to see load balancing and rolling
// updates at work.
func (s *server) handleRoot(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "hostname: %s\n", host)
	fmt.Fprintf(w, "ips: %s\n", strings.Join(localIPs(), " "))
	fmt.Fprintf(w, "version: %s\n", version)
	if g := os.Getenv("GREETING"); g != "" {
		fmt.Fprintf(w, "greeting: %s\n", g)
	}
}

func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if s.unhealthy.Load() {
		http.Error(w, "unhealthy (after /fail-health)", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *server) handleFailHealth(w http.ResponseWriter, r *http.Request) {
	s.unhealthy.Store(true)
	fmt.Fprintln(w, "healthz now answers 500 until /heal")
}

func (s *server) handleHeal(w http.ResponseWriter, r *http.Request) {
	s.unhealthy.Store(false)
	fmt.Fprintln(w, "healthz now answers 200")
}

// handleCrash answers, then exits with the requested code (default 1).
func (s *server) handleCrash(w http.ResponseWriter, r *http.Request) {
	code := 1
	if v := r.URL.Query().Get("code"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			http.Error(w, "code: want an integer 0..255", http.StatusBadRequest)
			return
		}
		code = n
	}
	fmt.Fprintf(w, "exiting with code %d\n", code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// The request log line would come after the handler returns, which it
	// never does: log it here.
	s.log.Info("request", "method", r.Method, "path", r.URL.RequestURI(), "remote", r.RemoteAddr, "status", http.StatusOK, "exit", code)
	s.exit(code)
}

// handleAlloc allocates mb MiB and keeps it until the process ends, touching
// every page so the memory is really resident (and counts against a limit).
func (s *server) handleAlloc(w http.ResponseWriter, r *http.Request) {
	mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
	if err != nil || mb < 0 || mb > maxAllocMB {
		http.Error(w, fmt.Sprintf("mb: want an integer 0..%d", maxAllocMB), http.StatusBadRequest)
		return
	}
	pageSize := os.Getpagesize()
	s.mu.Lock()
	defer s.mu.Unlock()
	// One MiB at a time, so a memory limit hits part-way, as a real leak would.
	for range mb {
		chunk := make([]byte, mib)
		for i := 0; i < len(chunk); i += pageSize {
			chunk[i] = 1
		}
		s.held = append(s.held, chunk)
	}
	fmt.Fprintf(w, "allocated %d MiB, holding %d MiB\n", mb, len(s.held))
}

// handleResolve answers the addresses name resolves to, one per line, through
// the replica's own /etc/resolv.conf: the way to test service discovery.
func (s *server) handleResolve(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		http.Error(w, "name: required", http.StatusBadRequest)
		return
	}
	addrs, err := net.DefaultResolver.LookupHost(r.Context(), name)
	if err != nil {
		status := http.StatusBadGateway
		if dnsErr, ok := err.(*net.DNSError); ok && dnsErr.IsNotFound {
			status = http.StatusNotFound
		}
		http.Error(w, fmt.Sprintf("resolve %s: %v", name, err), status)
		return
	}
	slices.Sort(addrs)
	for _, a := range addrs {
		fmt.Fprintln(w, a)
	}
}

// handleFetch fetches url from inside the replica and answers 200 with the
// upstream status on the first line, then the body. Only a failure to fetch
// at all is an error (502).
func (s *server) handleFetch(w http.ResponseWriter, r *http.Request) {
	url := r.URL.Query().Get("url")
	if url == "" {
		http.Error(w, "url: required", http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, url, nil)
	if err != nil {
		http.Error(w, fmt.Sprintf("url: %v", err), http.StatusBadRequest)
		return
	}
	resp, err := s.fetch.Do(req)
	if err != nil {
		http.Error(w, fmt.Sprintf("fetch %s: %v", url, err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("X-Upstream-Status", strconv.Itoa(resp.StatusCode))
	fmt.Fprintf(w, "status: %d\n\n", resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, maxFetchBody))
}

// localIPs lists the addresses of the replica's interfaces, loopback left out.
func localIPs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var ips []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			ips = append(ips, ipn.IP.String())
		}
	}
	return ips
}

// logRequests writes one line per request to the log (stdout).
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Info("request", "method", r.Method, "path", r.URL.RequestURI(), "remote", r.RemoteAddr,
			"status", rec.status, "duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush keeps /crash able to push its answer out before exiting.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
