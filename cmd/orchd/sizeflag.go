package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeFlag is a byte count given as plain bytes or with a binary unit, as
// manifests write memory: 2Gi, 512Mi, 1048576.
type sizeFlag struct {
	n    *int64
	text string
}

func newSizeFlag(n *int64, def string) *sizeFlag {
	f := &sizeFlag{n: n}
	if err := f.Set(def); err != nil {
		panic(err)
	}
	return f
}

var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}}

func (f *sizeFlag) Set(s string) error {
	num, shift := s, uint(0)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > math.MaxInt64>>shift {
		return fmt.Errorf("want a positive size in bytes, optionally with a unit Ki, Mi, Gi or Ti (512Mi, 2Gi), got %q", s)
	}
	*f.n, f.text = v<<shift, s
	return nil
}

func (f *sizeFlag) String() string { return f.text }
func (f *sizeFlag) Type() string   { return "size" }
