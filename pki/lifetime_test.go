package pki

import (
	"testing"
	"time"
)

// TestLeafLifetime: leaves last the CA's lifetime (a year unless set), and
// are due for renewal at two thirds of their validity, up to a tenth earlier.
func TestLeafLifetime(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	for _, life := range []time.Duration{0, 3 * time.Second} {
		ca.SetLeafLifetime(life)
		cert, err := ca.IssueMaster([]string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := LeafOf(&cert)
		if err != nil {
			t.Fatal(err)
		}
		want := life
		if want == 0 {
			want = DefaultLeafLifetime
		}
		if got := time.Until(leaf.NotAfter); got > want || got < want-time.Minute {
			t.Errorf("lifetime %v: expires in %v", life, got)
		}
		validity := leaf.NotAfter.Sub(leaf.NotBefore)
		for range 100 {
			at := RenewAt(leaf.NotBefore, leaf.NotAfter).Sub(leaf.NotBefore)
			if at > validity*2/3 || at < validity*2/3-validity/10-time.Second {
				t.Fatalf("lifetime %v: renewal at %v of %v", life, at, validity)
			}
		}
	}
}
