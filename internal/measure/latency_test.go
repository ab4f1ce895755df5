package measure

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 0, 100)
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{nil, 99, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(7), 1, 7 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{ms(5, 1, 3), 50, 3 * time.Millisecond},
		{ms(5, 1, 3, 9), 99, 9 * time.Millisecond},
	} {
		if got := Percentile(tc.samples, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.samples, tc.p, got, tc.want)
		}
	}
	unsorted := ms(5, 1, 3)
	Percentile(unsorted, 50)
	if unsorted[0] != 5*time.Millisecond {
		t.Errorf("Percentile sorted its argument: %v", unsorted)
	}
}

func TestRate(t *testing.T) {
	if got := Rate(150000, 10*time.Second); got != 15000 {
		t.Errorf("Rate = %v, want 15000", got)
	}
	if got := Rate(5, 0); got != 0 {
		t.Errorf("Rate over 0s = %v, want 0", got)
	}
}
