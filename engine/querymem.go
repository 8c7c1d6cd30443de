package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/sqlerr"
)

// queryMemoryLimitSetting bounds the Arrow memory one statement may hold
// (53200 past it), like a work_mem for the whole query.
const queryMemoryLimitSetting = "weft.query_memory_limit"

// memoryLimitSetting is a session's share of the server's memory limit
// (Options.MemoryLimit): its statements spill, and fail with 53200, by
// it. "0" is the server's whole limit; more than that is refused.
const memoryLimitSetting = "weft.memory_limit"

// spillCompressionSetting turns LZ4 compression of spill files on.
const spillCompressionSetting = "weft.spill_compression"

// booleanSetting reads a boolean setting as PostgreSQL does, as "on" or
// "off".
func booleanSetting(name, v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1", "t", "y":
		return "on", nil
	case "off", "false", "no", "0", "f", "n":
		return "off", nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameter, "parameter \"%s\" requires a Boolean value", name)
}

// defaultMemoryLimit is what the database may hold when Options does not
// say: 80% of physical memory, as DuckDB does; 0 (none) when the
// machine's size is unknown.
func defaultMemoryLimit() int64 {
	return int64(physicalMemory() / 10 * 8)
}

// DefaultMemoryLimit is what a database opened without
// Options.MemoryLimit may hold (0 when the machine's size is unknown).
func DefaultMemoryLimit() int64 { return defaultMemoryLimit() }

// checkMemoryLimit refuses a session limit beyond the server's.
func (s *Session) checkMemoryLimit(v string) error {
	n, err := parseMemorySetting(memoryLimitSetting, v)
	if err != nil {
		return err
	}
	if server := s.db.memory.Limit(); server > 0 && n > server {
		return sqlerr.New(sqlerr.InvalidParameter, "%d kB is outside the valid range for parameter \"%s\" (0 .. %d kB)", n>>10, memoryLimitSetting, server>>10).
			WithHint("The server's --memory-limit bounds every session's.")
	}
	return nil
}

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

// queryMemoryLimit is the smaller of the session's two limits, and the
// setting it comes from (0 bytes: none but the server's).
func (s *Session) queryMemoryLimit() exec.QueryLimit {
	var limit exec.QueryLimit
	for _, name := range []string{queryMemoryLimitSetting, memoryLimitSetting} {
		n, err := parseMemorySetting(name, s.settings[name])
		if err == nil && n > 0 && (limit.Bytes == 0 || n < limit.Bytes) {
			limit = exec.QueryLimit{Bytes: n, Setting: name}
		}
	}
	return limit
}

// openMemory sets up the database's memory budget and spill directory
// (after the store locked the data directory, so that sweeping what a
// crash left there is safe).
func (db *DB) openMemory() error {
	limit := db.opts.MemoryLimit
	if limit == 0 {
		limit = defaultMemoryLimit()
	}
	db.memory = exec.NewMemoryBudget(limit)
	dataDir := ""
	if db.store != nil && !db.opts.ReadOnly {
		dataDir = db.store.Dir() // (a worker must not clear its coordinator's spill files)
	}
	root, err := spill.OpenRoot(dataDir)
	if err != nil {
		return err
	}
	db.spill = root
	return nil
}

// newQuerySpill is a statement's spill space (nil, nothing spills, for
// statements the store replays while the database opens).
func (s *Session) newQuerySpill() *spill.Query {
	if s.db.spill == nil {
		return nil
	}
	q := s.db.spill.NewQuery()
	q.Compress = isOn(s.settings[spillCompressionSetting])
	return q
}

// ParseMemoryLimit reads a --memory-limit as PostgreSQL writes sizes
// ("256MB", "4GB", a number of kilobytes) into Options.MemoryLimit: ""
// is the default (80% of the machine's memory), "0" or "-1" no limit.
func ParseMemoryLimit(v string) (int64, error) {
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	n, err := parseMemorySetting("memory-limit", v)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}
