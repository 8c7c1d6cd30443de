package driver

import (
	"sync"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

// sharedDB is one open weft.DB and how many connectors use it.
type sharedDB struct {
	db   *weft.DB
	opts dbOptions
	dir  string // "" for a database in memory
	refs int
}

// openDBs shares one weft.DB among every connector of a data directory: a
// directory is locked by the first Open, so a second sql.Open of the same
// path in the process must reuse it rather than open it again. It lives in
// the Driver value because the sharing is process-wide by nature.
type openDBs struct {
	mu    sync.Mutex
	byDir map[string]*sharedDB
}

// acquire returns the database cfg names, opening it on first use. A
// database in memory is never shared: each connector gets its own.
func (o *openDBs) acquire(cfg config) (*sharedDB, error) {
	if cfg.dir == "" {
		db, err := openWeft(cfg)
		if err != nil {
			return nil, err
		}
		return &sharedDB{db: db, opts: cfg.db, refs: 1}, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if sh := o.byDir[cfg.dir]; sh != nil {
		if sh.opts != cfg.db {
			return nil, sqlerr.New(sqlerr.ObjectInUse,
				"data directory %s is already open in this process with other options (%s; asked for %s)", cfg.dir, sh.opts, cfg.db)
		}
		sh.refs++
		return sh, nil
	}
	db, err := openWeft(cfg)
	if err != nil {
		return nil, err
	}
	sh := &sharedDB{db: db, opts: cfg.db, dir: cfg.dir, refs: 1}
	if o.byDir == nil {
		o.byDir = map[string]*sharedDB{}
	}
	o.byDir[cfg.dir] = sh
	return sh, nil
}

// release drops one reference and closes the database with the last. The
// close happens under the lock: until the directory's lock file is let
// go, another acquire of the same path must wait rather than fail.
func (o *openDBs) release(sh *sharedDB) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	sh.refs--
	if sh.refs > 0 {
		return nil
	}
	if sh.dir != "" {
		delete(o.byDir, sh.dir)
	}
	return sh.db.Close()
}

func openWeft(cfg config) (*weft.DB, error) {
	return weft.Open(weft.Options{
		DataDir:      cfg.dir,
		Partitions:   cfg.db.partitions,
		BatchSize:    cfg.db.batchSize,
		SegmentBytes: cfg.db.segmentBytes,
		FilesDir:     cfg.db.filesDir,
		UDF:          udf.Config{ModuleDir: cfg.db.udfDir},
	})
}
