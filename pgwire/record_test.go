package pgwire

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/pgsource/pgtest"
)

// recordOID is PostgreSQL's anonymous record type.
const recordOID = 2249

// TestRecordOnTheWire compares Weft with a real PostgreSQL on how row
// values reach a client: the column's type OID and each value's bytes in
// text (record_out: quoting, NULL fields empty) and binary (record_send:
// field count, each field's OID and value) formats, over the extended
// and the simple protocol. A table's whole-row value is typed record by
// Weft (PostgreSQL names the table's own row type, which Weft's catalog
// does not have); its bytes are PostgreSQL's. A composite type's values
// (CREATE TYPE … AS) carry the type's own OID, as PostgreSQL's do.
func TestRecordOnTheWire(t *testing.T) {
	pgURL := pgtest.Start(t)
	weftURL := startServer(t)
	ctx := context.Background()
	// (pgx.Connect's default mode: only the connections are used)
	pg := connect(t, pgURL, pgx.QueryExecModeCacheStatement).PgConn()
	wf := connect(t, weftURL, pgx.QueryExecModeCacheStatement).PgConn()
	setup := []string{
		`CREATE TABLE rw (a int, b text, c float8, d date, e boolean)`,
		`INSERT INTO rw VALUES (1, 'plain', 1.5, '2024-01-02', true), (2, NULL, NULL, NULL, NULL)`,
		`INSERT INTO rw VALUES (3, 'q"u,o(te) \ sp', -2, '1999-12-31', false), (4, '', 0, NULL, NULL)`,
		`CREATE TYPE pair AS (n int, s text)`,
		`CREATE TABLE rc (id int, p pair)`,
		`INSERT INTO rc VALUES (1, row(7, 'x y')), (2, NULL), (3, '(,)')`,
	}
	for _, c := range []*pgconn.PgConn{pg, wf} {
		for _, s := range setup {
			if _, err := c.Exec(ctx, s).ReadAll(); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	// a composite type's OID is each server's own
	pairOID := func(c *pgconn.PgConn) uint32 {
		res := c.ExecParams(ctx, `SELECT 'pair'::regtype::oid`, nil, nil, nil, []int16{0}).Read()
		if res.Err != nil || len(res.Rows) != 1 {
			t.Fatalf("pair's OID: %v", res.Err)
		}
		oid, err := strconv.ParseUint(string(res.Rows[0][0]), 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(oid)
	}
	pgPair, wfPair := pairOID(pg), pairOID(wf)
	cases := []struct {
		sql string
		// sameOID is false for a table's whole-row value (see above)
		// and a composite column (the type's own OID, checked apart)
		sameOID, composite bool
	}{
		{`SELECT row(1, 'a')`, true, false},
		{`SELECT row(NULL, '', 'x y', 2.5::float8, array[1,2]), row()`, true, false},
		{`SELECT row(a, b, c, d, e) FROM rw ORDER BY a`, true, false},
		{`SELECT rw FROM rw ORDER BY a`, false, false},
		{`SELECT row(a, row(b, e)) FROM rw ORDER BY a`, true, false},
		{`SELECT x FROM (SELECT row(a, d, 'lit') AS x FROM rw) s ORDER BY (x).f1`, true, false},
		{`SELECT array_agg(row(a, b, c, d, e) ORDER BY a) FROM rw`, true, false},
		{`SELECT p FROM rc ORDER BY id`, false, true},
		{`SELECT row(1.5, 'a')::pair`, false, true},
	}
	for _, tc := range cases {
		for _, format := range []int16{0, 1} {
			p, w := execFormat(ctx, t, pg, tc.sql, format), execFormat(ctx, t, wf, tc.sql, format)
			if len(p.cols) != len(w.cols) {
				t.Fatalf("%s (format %d): columns %v, PostgreSQL %v", tc.sql, format, w.cols, p.cols)
			}
			for i := range p.cols {
				want := p.cols[i]
				switch {
				case tc.composite:
					if want != pgPair {
						t.Fatalf("%s: PostgreSQL sent OID %d, not pair's %d", tc.sql, want, pgPair)
					}
					want = wfPair
				case !tc.sameOID:
					want = recordOID
				}
				if w.cols[i] != want {
					t.Errorf("%s (format %d): column %d has OID %d, want %d", tc.sql, format, i, w.cols[i], want)
				}
			}
			if len(p.rows) != len(w.rows) {
				t.Fatalf("%s (format %d): %d rows, PostgreSQL %d", tc.sql, format, len(w.rows), len(p.rows))
			}
			for r := range p.rows {
				for c := range p.rows[r] {
					if !bytes.Equal(p.rows[r][c], w.rows[r][c]) {
						t.Errorf("%s (format %d) row %d column %d:\n got %q\nwant %q", tc.sql, format, r, c, w.rows[r][c], p.rows[r][c])
					}
				}
			}
		}
		// the simple protocol sends text
		p, w := simpleText(ctx, t, pg, tc.sql), simpleText(ctx, t, wf, tc.sql)
		if !bytes.Equal(bytes.Join(p, []byte{'|'}), bytes.Join(w, []byte{'|'})) {
			t.Errorf("%s (simple protocol):\n got %q\nwant %q", tc.sql, w, p)
		}
	}
}

type formatResult struct {
	cols []uint32
	rows [][][]byte
}

// execFormat runs sql through the extended protocol asking for every
// result column in format.
func execFormat(ctx context.Context, t *testing.T, c *pgconn.PgConn, sql string, format int16) formatResult {
	t.Helper()
	res := c.ExecParams(ctx, sql, nil, nil, nil, []int16{format}).Read()
	if res.Err != nil {
		t.Fatalf("%s: %v", sql, res.Err)
	}
	var out formatResult
	for _, fd := range res.FieldDescriptions {
		out.cols = append(out.cols, fd.DataTypeOID)
	}
	out.rows = res.Rows
	return out
}

// simpleText runs sql through the simple protocol: every value's text.
func simpleText(ctx context.Context, t *testing.T, c *pgconn.PgConn, sql string) [][]byte {
	t.Helper()
	results, err := c.Exec(ctx, sql).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out [][]byte
	for _, row := range results[0].Rows {
		out = append(out, row...)
	}
	return out
}
