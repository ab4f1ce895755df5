package scheduler

import "strconv"

// FormatCPU renders millicores the way users write them: "2" for whole
// cores, "500m" otherwise.
func FormatCPU(millis int64) string {
	if millis%1000 == 0 {
		return strconv.FormatInt(millis/1000, 10)
	}
	return strconv.FormatInt(millis, 10) + "m"
}

// FormatMemory renders bytes in the largest binary unit that divides them
// exactly ("2Gi", "1536Mi", "4Ki"), or as plain bytes.
func FormatMemory(bytes int64) string {
	if bytes == 0 {
		return "0"
	}
	for _, u := range []struct {
		shift  uint
		suffix string
	}{{40, "Ti"}, {30, "Gi"}, {20, "Mi"}, {10, "Ki"}} {
		if bytes%(1<<u.shift) == 0 {
			return strconv.FormatInt(bytes>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(bytes, 10)
}
