// Package driver is a database/sql driver for Weft, registered as "weft".
//
//	db, err := sql.Open("weft", "/path/to/data?partitions=4")
//	db, err := sql.Open("weft", ":memory:")
//
// The DSN names the data directory (optionally as file:/path) or :memory:;
// query parameters set partitions, batch_size, segment_bytes, files_dir
// and udf_dir of the database, and any other key is a session setting
// (timezone, search_path, statement_timeout, ...) that every connection
// starts with. Several sql.Open calls of one directory share one open
// weft.DB, closed with the last of them; each :memory: DSN is a database
// of its own, shared by the pool's connections.
//
// Statements use PostgreSQL's placeholders $1, $2, .... Results map to Go
// as int64, float64, bool, string, []byte and time.Time; numeric,
// interval, uuid, json, time of day and arrays come as their PostgreSQL
// text (Array scans an array into a Go slice). Errors are *sqlerr.Error (see Error and SQLState) carrying the
// SQLSTATE. Callers that want Arrow batches reach them through
// (*sql.Conn).Raw and ArrowConn.
package driver

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"strings"

	"github.com/weftdb/weft"
)

// DriverName is the name the driver is registered under.
const DriverName = "weft"

// Driver opens Weft databases. The registered instance shares open data
// directories among all the sql.DB values of the process.
type Driver struct {
	dbs openDBs
}

// defaultDriver is the registered driver; NewConnector uses it too, so a
// directory opened by sql.Open and by sql.OpenDB(NewConnector(...)) is one
// database.
var defaultDriver = &Driver{}

func init() {
	sql.Register(DriverName, defaultDriver)
}

// Open opens one connection outside a connector (database/sql prefers
// OpenConnector); the connection owns its database reference.
func (d *Driver) Open(dsn string) (sqldriver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	cn, err := c.Connect(context.Background())
	if err != nil {
		c.(*connector).Close()
		return nil, err
	}
	cn.(*conn).ownConnector = true
	return cn, nil
}

// OpenConnector parses the DSN and opens (or joins) its database, so that
// sql.Open reports a bad DSN or a locked directory at once.
func (d *Driver) OpenConnector(dsn string) (sqldriver.Connector, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	sh, err := d.dbs.acquire(cfg)
	if err != nil {
		return nil, err
	}
	return &connector{driver: d, db: sh.db, shared: sh, settings: cfg.settings}, nil
}

// NewConnector is OpenConnector of the registered driver, for
// sql.OpenDB(connector).
func NewConnector(dsn string) (sqldriver.Connector, error) {
	return defaultDriver.OpenConnector(dsn)
}

// NewConnectorFor serves connections over a database the caller opened
// with weft.Open and keeps owning: closing the sql.DB leaves it open.
func NewConnectorFor(db *weft.DB) sqldriver.Connector {
	return &connector{driver: defaultDriver, db: db}
}

// connector makes connections to one database; sql.DB closes it when it
// is closed itself.
type connector struct {
	driver   *Driver
	db       *weft.DB
	shared   *sharedDB // nil when the caller owns db
	settings [][2]string
}

// Connect starts a session and applies the DSN's settings to it.
// set_config takes the value as a string, so a list (search_path=a,b)
// reads as it would in postgresql.conf.
func (c *connector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	s := c.db.NewSession()
	for _, kv := range c.settings {
		set := "SELECT set_config(" + quoteLiteral(kv[0]) + ", " + quoteLiteral(kv[1]) + ", false)"
		if _, err := s.Exec(ctx, set); err != nil {
			s.Close()
			return nil, err
		}
	}
	return &conn{sess: s, db: c.db, connector: c}, nil
}

func (c *connector) Driver() sqldriver.Driver { return c.driver }

// Close gives back the connector's share of the database (sql.DB.Close
// calls it after closing every connection).
func (c *connector) Close() error {
	if c.shared == nil {
		return nil
	}
	sh := c.shared
	c.shared = nil
	return c.driver.dbs.release(sh)
}

// quoteLiteral writes s as a SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
