package manifest

import (
	"strings"
	"testing"
)

func TestParseCPU(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"100m", 100, false},
		{"0.5", 500, false},
		{".25", 250, false},
		{"2", 2000, false},
		{"1.5", 1500, false},
		{"0.0010", 1, false},
		{"0", 0, false},
		{"", 0, true},
		{"m", 0, true},
		{"1.5m", 0, true},
		{"-1", 0, true},
		{"1.", 0, true},
		{"0.0001", 0, true},
		{"1e3", 0, true},
		{"2 cores", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCPU(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCPU(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1000000", 1000000, false},
		{"32Mi", 32 << 20, false},
		{"1Gi", 1 << 30, false},
		{"1.5Gi", 3 << 29, false},
		{"512M", 512e6, false},
		{"2K", 2000, false},
		{"2k", 2000, false},
		{"4Ki", 4096, false},
		{"1Ti", 1 << 40, false},
		{"1T", 1e12, false},
		{"0.5", 1, false}, // a fraction of a byte rounds up
		{"", 0, true},
		{"Mi", 0, true},
		{"512m", 0, true},
		{"1MB", 0, true},
		{"-1Gi", 0, true},
		{"1.Gi", 0, true},
		{"8Pi", 8 << 50, false},
		{"9000Pi", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMemory(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestImageReferences(t *testing.T) {
	good := []string{"nginx", "nginx:1.27", "orch.local/hello:1", "localhost:5000/a/b:tag",
		"docker.io/library/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"[::1]:5000/x", "my-registry.example.com/team/app_name:v1.2.3-rc1"}
	bad := []string{"", "Nginx", "nginx:", ":tag", "a b", "nginx@sha256:xyz", "/x", "x//y", "x:1:2"}
	for _, s := range good {
		if !validImage(s) {
			t.Errorf("validImage(%q) = false", s)
		}
	}
	for _, s := range bad {
		if validImage(s) {
			t.Errorf("validImage(%q) = true", s)
		}
	}
}

func checkDecimal(t *testing.T, num string, mult int64) {
	t.Helper()
	v, ok := decimal(num, mult)
	wantV, wantOK := bigDecimal(num, mult)
	if v != wantV || ok != wantOK {
		t.Errorf("decimal(%q, %d) = %d, %v; math/big says %d, %v", num, mult, v, ok, wantV, wantOK)
	}
}

func TestDecimalShortcutMatchesBig(t *testing.T) {
	for _, num := range []string{
		"0", "1", "0.5", ".5", "1.", ".", "", "007", "0.0001", "1.0005", "9223372036854775807",
		"922337203685477580", "9223372036854775.807", "999999999999999999", "99999999999999999.9",
		"18446744073709551615", "1e3", "+1", "-1", "1/2", "1.2.3", "123456789.123456789",
	} {
		for _, mult := range []int64{1, 1000, 1 << 10, 1 << 50, 1e15, 1e3} {
			checkDecimal(t, num, mult)
		}
	}
}

func FuzzDecimal(f *testing.F) {
	f.Add("1.5", int64(1<<30))
	f.Add("9223372036854.775807", int64(1000000))
	f.Fuzz(func(t *testing.T, num string, mult int64) {
		// What the parsers pass: digits and a dot. (An exponent would have
		// math/big build a number of any size.)
		if mult > 0 && strings.Trim(num, "0123456789.") == "" {
			checkDecimal(t, num, mult)
		}
	})
}
