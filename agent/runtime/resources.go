package runtime

// cfsPeriod is the CFS period in microseconds, the kernel's default.
const cfsPeriod = 100_000

// cpuQuota turns millicores into a CFS quota per cfsPeriod: 1000m may use one
// full period per period. The kernel refuses quotas under 1ms.
func cpuQuota(millis int64) int64 {
	return max(millis*cfsPeriod/1000, 1000)
}

// cpuShares weights the container under contention as Kubernetes does:
// 1024 shares per core, at least the kernel's minimum of 2.
func cpuShares(millis int64) uint64 {
	return uint64(max(millis*1024/1000, 2))
}
