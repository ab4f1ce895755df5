package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Explain says how many nodes could take one replica of req on the cluster
// as it is, and why the others cannot, in the words of an unplaced reason:
// "4/6 nodes can run it: 1 cordoned, 1 lacks memory (need 2Gi)". It judges
// the request's first replica or, when there is none, the spec alone (its
// host ports, no resources). It is what `orchctl plan` shows per service.
func Explain(in Input, req Request) string {
	v := newView(in, []Request{req})
	c := specClass(req.Spec)
	if cs := classesOf(req); len(cs) > 0 {
		c = cs[0]
	}
	svc := serviceOf(req)
	count := v.counts(svc)
	fs := append(staticFilters(v, req.Spec), dynamicFilters(v, c, req.Spec.GetPlacement().GetMaxPerNode(), count)...)
	fs = append(fs, relationFilters(v, req.Spec, svc, c)...)
	if c.pinned != "" {
		if _, reason := v.checkPinned(c, fs); reason != "" {
			return reason
		}
		return "1/1 nodes can run it"
	}
	fail := v.failures()
	for i := range fail {
		fail[i] = firstFail(fs, int32(i), 0)
	}
	return summarize(len(v.nodes), fs, fail)
}

// summarize renders "K/N nodes can run it: ..." from the first filter each
// node failed (fail[i], -1 for none). Reasons are grouped per filter and
// ordered by count, largest first, then by filter order.
func summarize(total int, fs []filter, fail []int) string {
	if total == 0 {
		return "0/0 nodes can run it: no nodes"
	}
	counts := make([]int, len(fs))
	fit := 0
	for _, k := range fail {
		if k < 0 {
			fit++
		} else {
			counts[k]++
		}
	}
	var order []int
	for k, n := range counts {
		if n > 0 {
			order = append(order, k)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(counts[b], counts[a]) })
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d nodes can run it", fit, total)
	for j, k := range order {
		if j == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(fs[k].explain(counts[k]))
	}
	return b.String()
}
