package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/weftdb/weft/sql/sqlerr"
)

// queryMemoryLimitSetting bounds the Arrow memory one statement may hold
// (53200 past it), like a work_mem for the whole query.
const queryMemoryLimitSetting = "weft.query_memory_limit"

// physicalMemory is the machine's memory in bytes (0 when unknown); it is
// read once, as it does not change while the process runs.
var physicalMemory = sync.OnceValue(func() uint64 {
	var info syscall.Sysinfo_t
	if err := syscall.Sysinfo(&info); err != nil {
		return 0
	}
	return uint64(info.Totalram) * uint64(info.Unit)
})

// defaultQueryMemoryLimit is a quarter of physical memory, in PostgreSQL's
// notation ("6GB"); "0" (no limit) where the machine's size is unknown.
func defaultQueryMemoryLimit() string {
	quarter := physicalMemory() / 4
	if quarter == 0 {
		return "0"
	}
	return fmt.Sprintf("%dMB", quarter>>20)
}

// parseMemorySetting reads a memory size as PostgreSQL writes it: a number
// of kilobytes, or a number with B, kB, MB, GB or TB; 0 or -1 is no limit.
func parseMemorySetting(name, v string) (int64, error) {
	s := strings.TrimSpace(v)
	units := []struct {
		suffix string
		bytes  int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}}
	scale := int64(1 << 10)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, scale = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < -1 || (n > 0 && n > math.MaxInt64/scale) {
		return 0, sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"%s\": \"%s\"", name, v).
			WithHint(`Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".`)
	}
	if n <= 0 {
		return 0, nil
	}
	return n * scale, nil
}

// queryMemoryLimit is the session's limit in bytes (0: none).
func (s *Session) queryMemoryLimit() int64 {
	n, err := parseMemorySetting(queryMemoryLimitSetting, s.settings[queryMemoryLimitSetting])
	if err != nil {
		return 0
	}
	return n
}
