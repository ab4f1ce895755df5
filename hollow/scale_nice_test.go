package hollow_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// defaultFleetNice is the scheduling priority of the benchmark's process
// (the hollow nodes and, started from it, the readers) once the masters
// run. Real agents have a machine each; here 5,000 of them share two
// cores with the masters, and at the kernel's equal shares the fleet got
// half a core: its Go scheduler, busy on both of its processors, ran
// goroutines a second late at p99 and sent heartbeats up to 38 s
// apart: nodes were marked down that were not, and streams fell silent
// past the agents' 15 s limit and reconnected by the thousand, the
// fleet's lateness and not a master's. Favoured, the fleet keeps its own
// time and the masters run on what it leaves, as on real hardware where
// their cores are their own; their CPU figures stay theirs alone.
const defaultFleetNice = -10

// favourFleet gives every thread of this process the fleet's priority
// (ORCH_SCALE_FLEET_NICE, default defaultFleetNice; 0 leaves it alone):
// Linux keeps a nice value per thread, and threads the Go runtime starts
// later inherit it from the one that starts them. Call it after the
// masters started, which must not inherit it.
func favourFleet() (int, error) {
	nice := defaultFleetNice
	if s := os.Getenv("ORCH_SCALE_FLEET_NICE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < -20 || n > 19 {
			return 0, fmt.Errorf("ORCH_SCALE_FLEET_NICE=%q: want a nice value from -20 to 19", s)
		}
		nice = n
	}
	if nice == 0 {
		return 0, nil
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, unix.ESRCH) {
			return 0, fmt.Errorf("set the fleet's priority (nice %d) on thread %d: %w", nice, tid, err)
		}
	}
	return nice, nil
}
