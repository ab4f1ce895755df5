package agent

import (
	"bufio"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// MachineCapacity reads this machine's cpu count and memory.
func MachineCapacity() (*orchpb.ResourceAmounts, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, fmt.Errorf("agent: read memory size: %w", err)
	}
	defer f.Close()
	var memBytes int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("agent: parse MemTotal: %w", err)
			}
			memBytes = kb * 1024
		}
	}
	if memBytes == 0 {
		return nil, fmt.Errorf("agent: no MemTotal in /proc/meminfo")
	}
	return &orchpb.ResourceAmounts{CpuMillis: int64(goruntime.NumCPU()) * 1000, MemoryBytes: memBytes}, nil
}
