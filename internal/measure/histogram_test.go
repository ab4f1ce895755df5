package measure

import (
	"math"
	"testing"
)

const histogramPage = `# HELP orch_api_request_duration_seconds API requests by route and status code.
# TYPE orch_api_request_duration_seconds histogram
orch_api_request_duration_seconds_bucket{code="200",route="GET /a",le="0.1"} 80
orch_api_request_duration_seconds_bucket{code="200",route="GET /a",le="1"} 90
orch_api_request_duration_seconds_bucket{code="200",route="GET /a",le="+Inf"} 100
orch_api_request_duration_seconds_sum{code="200",route="GET /a"} 30
orch_api_request_duration_seconds_count{code="200",route="GET /a"} 100
orch_api_request_duration_seconds_bucket{code="503",route="GET /a",le="0.1"} 0
orch_api_request_duration_seconds_bucket{code="503",route="GET /a",le="1"} 10
orch_api_request_duration_seconds_bucket{code="503",route="GET /a",le="+Inf"} 10
orch_api_request_duration_seconds_sum{code="503",route="GET /a"} 5
orch_api_request_duration_seconds_count{code="503",route="GET /a"} 10
orch_api_request_duration_seconds_bucket{code="200",route="PUT /b",le="0.1"} 0
orch_api_request_duration_seconds_bucket{code="200",route="PUT /b",le="1"} 0
orch_api_request_duration_seconds_bucket{code="200",route="PUT /b",le="+Inf"} 1000
orch_api_request_duration_seconds_sum{code="200",route="PUT /b"} 5000
orch_api_request_duration_seconds_count{code="200",route="PUT /b"} 1000
`

func TestPromHistogram(t *testing.T) {
	h, err := PromHistogram(histogramPage, "orch_api_request_duration_seconds", nil, "GET /a")
	if err != nil {
		t.Fatal(err)
	}
	if h.Total() != 110 || len(h.Bounds) != 3 || h.Counts[0] != 80 || h.Counts[1] != 100 {
		t.Fatalf("GET /a summed over codes = %+v, want counts 80, 100, 110", h)
	}
	ok, _ := PromHistogram(histogramPage, "orch_api_request_duration_seconds", map[string]string{"code": "200"}, "GET /a")
	if ok.Total() != 100 {
		t.Errorf("code 200 only: %v observations, want 100", ok.Total())
	}
	all, _ := PromHistogram(histogramPage, "orch_api_request_duration_seconds", nil)
	if all.Total() != 1110 {
		t.Errorf("every route: %v observations, want 1110", all.Total())
	}
	none, err := PromHistogram(histogramPage, "orch_missing_seconds", nil)
	if err != nil || none.Total() != 0 || !math.IsNaN(none.Quantile(0.5)) {
		t.Errorf("a missing histogram = %+v, %v; want empty, quantile NaN", none, err)
	}
	if _, err := PromHistogram("orch_x{ 1\n", "orch_x", nil); err == nil {
		t.Error("a broken page parsed without an error")
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := Histogram{Bounds: []float64{0.1, 1, math.Inf(1)}, Counts: []float64{80, 100, 110}}
	for _, tc := range []struct{ q, want float64 }{
		{0.5, 0.1 * 55 / 80},        // inside the first bucket, from 0
		{0.8, 0.1 + 0.9*(88-80)/20}, // inside the second
		{0.99, 1},                   // in +Inf: the largest finite bound
	} {
		if got := h.Quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	before := Histogram{Bounds: []float64{0.1, 1, math.Inf(1)}, Counts: []float64{80, 80, 80}}
	d := h.Sub(before)
	if d.Total() != 30 || d.Counts[0] != 0 || d.Counts[1] != 20 {
		t.Fatalf("Sub = %+v, want counts 0, 20, 30", d)
	}
	if got := d.Quantile(0.5); math.Abs(got-(0.1+0.9*15/20)) > 1e-9 {
		t.Errorf("Sub's median = %v", got)
	}
}
