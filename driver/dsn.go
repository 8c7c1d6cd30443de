package driver

import (
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// memoryDSN names a database kept in memory only.
const memoryDSN = ":memory:"

// config is what a DSN says: where the data lives, how the database is
// opened, and the settings each connection starts with.
type config struct {
	// dir is the data directory as an absolute, cleaned path ("" keeps
	// the database in memory).
	dir string
	db  dbOptions
	// settings are applied with SET to every new connection, in key order
	// so that two connections start alike.
	settings [][2]string
}

// dbOptions are the options that shape the shared weft.DB. Two DSNs that
// name one directory must agree on them, since the directory is opened once.
type dbOptions struct {
	partitions   int
	batchSize    int
	segmentBytes int64
	filesDir     string
	udfDir       string
}

func (o dbOptions) String() string {
	return fmt.Sprintf("partitions=%d batch_size=%d segment_bytes=%d files_dir=%q udf_dir=%q",
		o.partitions, o.batchSize, o.segmentBytes, o.filesDir, o.udfDir)
}

// parseDSN reads a data source name:
//
//	/path/to/dir[?opt=value&...]
//	file:/path/to/dir[?...]
//	:memory:[?...]
//
// Options: partitions, batch_size, segment_bytes, files_dir, udf_dir shape
// the database; any other key is a session setting (timezone,
// search_path, statement_timeout, application_name, ...) that every
// connection SETs when it starts.
func parseDSN(dsn string) (config, error) {
	var cfg config
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" {
		return cfg, sqlerr.New(sqlerr.InvalidParameter, "weft DSN %q names no data directory (use :memory: for a database in memory)", dsn)
	}
	if path != memoryDSN {
		abs, err := filepath.Abs(path)
		if err != nil {
			return cfg, fmt.Errorf("weft DSN %q: %w", dsn, err)
		}
		// two names of one directory must find the one open database
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		cfg.dir = abs
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return cfg, sqlerr.New(sqlerr.InvalidParameter, "weft DSN %q: bad options: %v", dsn, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := values[k][len(values[k])-1] // the last one given wins, as in a URL
		if err := cfg.set(k, v); err != nil {
			return cfg, fmt.Errorf("weft DSN %q: %w", dsn, err)
		}
	}
	return cfg, nil
}

// set applies one DSN option.
func (c *config) set(key, value string) error {
	switch key {
	case "partitions":
		n, err := positiveInt(key, value)
		c.db.partitions = n
		return err
	case "batch_size":
		n, err := positiveInt(key, value)
		c.db.batchSize = n
		return err
	case "segment_bytes":
		n, err := positiveInt(key, value)
		c.db.segmentBytes = int64(n)
		return err
	case "files_dir":
		c.db.filesDir = value
	case "udf_dir":
		c.db.udfDir = value
	default:
		c.settings = append(c.settings, [2]string{key, value})
	}
	return nil
}

func positiveInt(key, value string) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n <= 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameter, "option %s must be a positive integer, not %q", key, value)
	}
	return n, nil
}
