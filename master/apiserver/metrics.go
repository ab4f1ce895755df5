package apiserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	gatherer prometheus.Gatherer
	requests *prometheus.HistogramVec
}

// newMetrics registers the API's metrics on reg; a nil reg gets a private
// registry (tests start many servers in one process).
func newMetrics(reg prometheus.Registerer, streams func() int) *metrics {
	var gatherer prometheus.Gatherer = prometheus.DefaultGatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		gatherer = g
	}
	m := &metrics{
		gatherer: gatherer,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orch_api_request_duration_seconds",
			Help:    "API requests by route and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "code"}),
	}
	reg.MustRegister(m.requests, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orch_api_streams",
		Help: "Open watch, log-follow and exec streams on this master's API.",
	}, func() float64 { return float64(streams()) }))
	return m
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}
