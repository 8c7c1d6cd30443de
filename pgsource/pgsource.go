// Package pgsource reads a live PostgreSQL table or query as a relation:
// postgres_scan('postgres://…', 'schema.table') and
// postgres_query('postgres://…', 'SELECT …'). The columns are described
// when the call is bound; rows arrive in PostgreSQL's binary format and go
// straight into Arrow builders. A table is read in parallel by ranges of
// its physical pages (ctid), every range under one exported snapshot, so
// the parallel reads see one consistent state of the table.
package pgsource

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Source is one remote relation.
type Source struct {
	ConnString string
	// Relation is the quoted table name, or the query in parentheses.
	Relation string
	Label    string // what the user wrote, for EXPLAIN
	IsTable  bool
	Names    []string
	Types    []types.T
	// AsText marks columns whose remote type Weft has no exact binary
	// reading for; they are fetched as text (numeric, uuid, json, …).
	AsText []bool
	// Cast marks the columns among them whose SQL type here is text (the
	// remote type is not one of Weft's), so the remote value is cast.
	Cast []bool
	// Pages is the table's size in blocks when it was described; Ranges
	// how many page ranges (partitions) it is read in.
	Pages  int64
	Ranges int
	query  string // a query source's text
}

const connectTimeout = 10 * time.Second

// Connect opens a connection, mapping failures to SQLSTATE 08001.
func Connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid PostgreSQL connection string: %v", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, sqlerr.New(sqlerr.SQLClientUnableToEstablishConnection, "could not connect to PostgreSQL source: %v", err)
	}
	return conn, nil
}

// remoteError turns an error from the remote server into ours, keeping
// its SQLSTATE.
func remoteError(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return sqlerr.New(pe.Code, "PostgreSQL source: %s: %s", what, pe.Message)
	}
	if se, ok := err.(*sqlerr.Error); ok {
		return se
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return sqlerr.New(sqlerr.ConnectionFailure, "PostgreSQL source: %s: %v", what, err)
}

// DescribeTable describes schema.table (or a table on the remote search
// path) and plans up to maxRanges parallel page ranges.
func DescribeTable(ctx context.Context, connString, name string, maxRanges int) (*Source, error) {
	conn, err := Connect(ctx, connString)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	var schema, table string
	var pages int64
	err = conn.QueryRow(ctx, `SELECT n.nspname, c.relname,
			CASE WHEN c.relkind IN ('r', 'm') THEN pg_relation_size(c.oid) / current_setting('block_size')::int ELSE -1 END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass`, name).Scan(&schema, &table, &pages)
	if err != nil {
		return nil, remoteError("table "+name, err)
	}
	src := &Source{ConnString: connString, Relation: quoteIdent(schema) + "." + quoteIdent(table), Label: schema + "." + table, IsTable: pages >= 0, Pages: max(pages, 0), Ranges: 1}
	if src.IsTable {
		// a range per 64 pages (512 KB) at least, at most one per core
		src.Ranges = int(min(int64(maxRanges), max(1, src.Pages/64)))
	}
	return src, src.describe(ctx, conn, "SELECT * FROM "+src.Relation)
}

// DescribeQuery describes the result of a query run remotely.
func DescribeQuery(ctx context.Context, connString, query string) (*Source, error) {
	conn, err := Connect(ctx, connString)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	q := strings.TrimRight(strings.TrimSpace(query), "; \n\t")
	label := q
	if len(label) > 60 {
		label = label[:57] + "..."
	}
	src := &Source{ConnString: connString, Relation: "(" + q + "\n)", Label: label, Ranges: 1, query: q + "\n"}
	return src, src.describe(ctx, conn, q)
}

func (s *Source) describe(ctx context.Context, conn *pgx.Conn, query string) error {
	sd, err := conn.Prepare(ctx, "", query)
	if err != nil {
		return remoteError("describing "+s.Label, err)
	}
	for _, f := range sd.Fields {
		t, asText, cast := mapType(f.DataTypeOID, f.TypeModifier)
		s.Names = append(s.Names, f.Name)
		s.Types = append(s.Types, t)
		s.AsText = append(s.AsText, asText)
		s.Cast = append(s.Cast, cast)
	}
	return nil
}

// mapType maps a remote column type to Weft's: exactly where Weft has the
// type, else to text (cast remotely).
func mapType(oid uint32, typmod int32) (t types.T, asText, cast bool) {
	switch oid {
	case 16:
		return types.BoolT, false, false
	case 21:
		return types.Int2T, false, false
	case 23:
		return types.Int4T, false, false
	case 20:
		return types.Int8T, false, false
	case 26, 28, 29: // oid, xid, cid: unsigned 32-bit
		return types.Int8T, true, false
	case 700:
		return types.Float4T, false, false
	case 701:
		return types.Float8T, false, false
	case 1700:
		if typmod >= 4 {
			p, sc := (typmod-4)>>16&0xffff, (typmod-4)&0xffff
			if p <= types.MaxNumericPrecision {
				return types.NumericT(p, sc), true, false
			}
		}
		return types.NumericT(0, types.DefaultNumericScale), true, false
	case 25, 19:
		return types.TextT, false, false
	case 1043:
		if typmod >= 4 {
			return types.T{Kind: types.Varchar, Len: typmod - 4}, false, false
		}
		return types.T{Kind: types.Varchar}, false, false
	case 1042:
		if typmod >= 4 {
			return types.T{Kind: types.Char, Len: typmod - 4}, false, false
		}
		return types.T{Kind: types.Char, Len: 1}, false, false
	case 17:
		return types.ByteaT, false, false
	case 1082:
		return types.DateT, false, false
	case 1083:
		return types.TimeT, false, false
	case 1114:
		return types.TimestampT, false, false
	case 1184:
		return types.TimestampTZT, false, false
	case 1186:
		return types.IntervalT, false, false
	case 2950:
		return types.UUIDT, false, false
	}
	return types.TextT, true, true
}

// SelectList renders the remote select list for the source columns ords
// (an empty list still counts rows).
func (s *Source) SelectList(ords []int) string {
	if len(ords) == 0 {
		return "1"
	}
	parts := make([]string, len(ords))
	for i, o := range ords {
		parts[i] = ColumnRef(o)
		if s.Cast[o] {
			parts[i] += "::text"
		}
	}
	return strings.Join(parts, ", ")
}

// ColumnRef names source column o in pushed-down SQL.
func ColumnRef(o int) string { return "q.c" + strconv.Itoa(o+1) }

// querySQL is the remote query for one partition.
func (s *Source) querySQL(ords []int, filters []string, part int) string {
	base := "SELECT * FROM " + s.Relation
	if s.IsTable && s.Ranges > 1 {
		per := (s.Pages + int64(s.Ranges) - 1) / int64(s.Ranges)
		lo, hi := int64(part)*per, int64(part+1)*per
		var conds []string
		if part > 0 {
			conds = append(conds, fmt.Sprintf("ctid >= '(%d,0)'", lo))
		}
		if part < s.Ranges-1 {
			// the last range is open: the table may have grown since
			conds = append(conds, fmt.Sprintf("ctid < '(%d,0)'", hi))
		}
		base += " WHERE " + strings.Join(conds, " AND ")
	} else if !s.IsTable {
		base = s.query
	}
	cols := make([]string, len(s.Names))
	for i := range cols {
		cols[i] = "c" + strconv.Itoa(i+1)
	}
	sql := "SELECT " + s.SelectList(ords) + " FROM (" + base + ") AS q(" + strings.Join(cols, ", ") + ")"
	if len(filters) > 0 {
		sql += " WHERE " + strings.Join(filters, " AND ")
	}
	return sql
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// QuoteLiteral renders s as a standard-conforming SQL string literal.
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
