package measure

import (
	"errors"
	"os"
	"testing"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis; utime 250, stime 50.
	stat := "1234 (or (ch) d) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 12 0 100 2000000 3000 18446744073709551615\n"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3 {
		t.Fatalf("parseStatCPU = %v, %v; want 3 (300 ticks)", got, err)
	}
	if _, err := parseStatCPU("1234 (x) S 1 2"); !errors.Is(err, ErrProcFormat) {
		t.Errorf("short stat: err %v, want ErrProcFormat", err)
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\torchd\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n"
	m, err := parseStatusMemory(status)
	if err != nil || m.RSS != 100<<20 || m.Peak != 200<<20 {
		t.Fatalf("parseStatusMemory = %+v, %v; want RSS 100 MiB, peak 200 MiB", m, err)
	}
	if _, err := parseStatusMemory("Name:\tx\n"); !errors.Is(err, ErrProcFormat) {
		t.Errorf("no memory lines: err %v, want ErrProcFormat", err)
	}
}

// The real files of this process read.
func TestOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := CPUSeconds(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := MemoryOf(os.Getpid())
	if err != nil || m.RSS <= 0 || m.Peak < m.RSS {
		t.Fatalf("MemoryOf(self) = %+v, %v", m, err)
	}
}
