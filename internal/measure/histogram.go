package measure

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Histogram is a Prometheus histogram's cumulative counts by upper bound,
// summed over the series read; Sub and Quantile work on it as
// Prometheus's rate and histogram_quantile do.
type Histogram struct {
	Bounds []float64 // ascending upper bounds, +Inf last
	Counts []float64 // cumulative: Counts[i] observations were <= Bounds[i]
}

// PromHistogram reads histogram name from a Prometheus text page, summing
// every series whose labels include labels and whose label route (if any)
// is one of routes (none: any). A page without it answers an empty
// Histogram.
func PromHistogram(page, name string, labels map[string]string, routes ...string) (Histogram, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(page))
	if err != nil {
		return Histogram{}, fmt.Errorf("measure: parse metrics page: %w", err)
	}
	var h Histogram
	family := families[name]
	if family == nil {
		return h, nil
	}
	for _, m := range family.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		if !hasLabels(have, labels) || (len(routes) > 0 && !slices.Contains(routes, have["route"])) {
			continue
		}
		hist := m.GetHistogram()
		if hist == nil {
			return Histogram{}, fmt.Errorf("measure: %s is not a histogram", name)
		}
		sawInf := false
		for _, b := range hist.GetBucket() {
			h.add(b.GetUpperBound(), float64(b.GetCumulativeCount()))
			sawInf = sawInf || math.IsInf(b.GetUpperBound(), 1)
		}
		if !sawInf { // the text format always has one; other sources may not
			h.add(math.Inf(1), float64(hist.GetSampleCount()))
		}
	}
	return h, nil
}

func (h *Histogram) add(bound, count float64) {
	i, found := slices.BinarySearch(h.Bounds, bound)
	if !found {
		h.Bounds = slices.Insert(h.Bounds, i, bound)
		h.Counts = slices.Insert(h.Counts, i, 0)
	}
	h.Counts[i] += count
}

// Sub is what was observed between before and h: the bucket counts'
// differences (bounds missing from before count as zero there).
func (h Histogram) Sub(before Histogram) Histogram {
	out := Histogram{Bounds: slices.Clone(h.Bounds), Counts: slices.Clone(h.Counts)}
	for i, b := range before.Bounds {
		if j, found := slices.BinarySearch(out.Bounds, b); found {
			out.Counts[j] -= before.Counts[i]
		}
	}
	return out
}

// Total is the number of observations.
func (h Histogram) Total() float64 {
	if len(h.Counts) == 0 {
		return 0
	}
	return h.Counts[len(h.Counts)-1]
}

// Quantile estimates quantile q (0 to 1) as histogram_quantile does:
// linearly within the bucket that holds it, the lower bound of the first
// bucket being 0; a quantile in the +Inf bucket answers the largest finite
// bound. No observations answer NaN.
func (h Histogram) Quantile(q float64) float64 {
	total := h.Total()
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, bound := range h.Bounds {
		if h.Counts[i] >= rank {
			if math.IsInf(bound, 1) {
				return lower
			}
			in := h.Counts[i] - below
			if in == 0 {
				return bound
			}
			return lower + (bound-lower)*(rank-below)/in
		}
		lower, below = bound, h.Counts[i]
	}
	return lower
}
