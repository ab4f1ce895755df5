package manifest

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strings"
)

// ParseCPU parses a CPU quantity in the forms of docs/manifest.md: millicores
// ("100m") or cores with up to three decimals ("0.5", "2"). It returns
// millicores.
func ParseCPU(s string) (int64, error) {
	if millis, ok := strings.CutSuffix(s, "m"); ok {
		if !isDigits(millis) {
			return 0, fmt.Errorf("cpu %q: want cores (0.5, 2) or millicores (100m)", s)
		}
		v, ok := decimal(millis, 1)
		if !ok {
			return 0, fmt.Errorf("cpu %q: too large", s)
		}
		return v, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if !isDigits(whole) && !(whole == "" && frac != "") || frac != "" && !isDigits(frac) || strings.HasSuffix(s, ".") {
		return 0, fmt.Errorf("cpu %q: want cores (0.5, 2) or millicores (100m)", s)
	}
	if len(strings.TrimRight(frac, "0")) > 3 {
		return 0, fmt.Errorf("cpu %q: finer than 1m (one thousandth of a core)", s)
	}
	v, ok := decimal(s, 1000)
	if !ok {
		return 0, fmt.Errorf("cpu %q: too large", s)
	}
	return v, nil
}

// memoryUnits are the suffixes of docs/manifest.md and kubectl: binary (Ki..Pi)
// and decimal (K..P, k as kubectl writes it). A lowercase m is docker's
// mebibyte but kubectl's milli, so it is refused rather than guessed.
var memoryUnits = []struct {
	suffix string
	mult   int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50},
	{"K", 1e3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15},
}

// ParseMemory parses a memory quantity: plain bytes ("1000000") or a number
// with a unit suffix ("32Mi", "1.5Gi", "512M"). A fraction of a byte rounds
// up.
func ParseMemory(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range memoryUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	whole, frac, hasDot := strings.Cut(num, ".")
	if !isDigits(whole) && !(whole == "" && frac != "") || hasDot && !isDigits(frac) {
		return 0, fmt.Errorf("memory %q: want bytes with an optional unit Ki, Mi, Gi, Ti, K, M, G or T (32Mi, 1Gi, 512M)", s)
	}
	v, ok := decimal(num, mult)
	if !ok {
		return 0, fmt.Errorf("memory %q: too large", s)
	}
	return v, nil
}

// decimal returns num * mult rounded up, num being digits with at most one
// '.', or false when the result does not fit an int64.
func decimal(num string, mult int64) (int64, bool) {
	if v, ok := smallDecimal(num, mult); ok {
		return v, true
	}
	return bigDecimal(num, mult)
}

// bigDecimal is decimal in math/big: exact for any length, and the
// reference its 64-bit shortcut is tested against.
func bigDecimal(num string, mult int64) (int64, bool) {
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, false
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// smallDecimal is decimal in 64-bit arithmetic, for the quantities people
// write (up to 18 digits), since math/big allocates for every one; false
// means it cannot tell and decimal must.
func smallDecimal(num string, mult int64) (int64, bool) {
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" && frac == "" || len(whole)+len(frac) > 18 || mult <= 0 {
		return 0, false
	}
	var n uint64
	den := uint64(1)
	for _, part := range [2]string{whole, frac} {
		for _, c := range []byte(part) {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + uint64(c-'0')
		}
	}
	for range frac {
		den *= 10
	}
	hi, lo := bits.Mul64(n, uint64(mult))
	if hi >= den {
		return 0, false // the quotient would not fit 64 bits
	}
	q, rem := bits.Div64(hi, lo, den)
	if q > math.MaxInt64 || q == math.MaxInt64 && rem > 0 {
		return 0, false
	}
	if rem > 0 {
		q++ // rounds up, as decimal does
	}
	return int64(q), true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
