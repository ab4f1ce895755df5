// Package measure holds the small measuring tools of the scale benchmark
// (hollow's BenchmarkScale, make bench-scale): latency percentiles and
// rates, a process's CPU time and memory read from /proc by PID, the bytes
// a process's TCP connections carried (the kernel's own counters), values
// read from a Prometheus text page, and a table of figures against goals.
//
// They read; they never change what they measure. Nothing here is used by
// orchd or orchctl.
package measure
