package pgwire

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/pgsource/pgtest"
)

// TestDateTimeBinaryInfinity checks the binary wire form of dates and
// timestamps, infinities included, against PostgreSQL's own bytes: as
// results, and as binary parameters read back as text.
func TestDateTimeBinaryInfinity(t *testing.T) {
	pgURL := pgtest.Start(t)
	weftURL := startServer(t)
	ctx := context.Background()
	// (pgx.Connect's default mode: only the connections are used)
	pg := connect(t, pgURL, pgx.QueryExecModeCacheStatement).PgConn()
	wf := connect(t, weftURL, pgx.QueryExecModeCacheStatement).PgConn()
	for _, c := range []*pgconn.PgConn{pg, wf} {
		if err := c.Exec(ctx, "SET TimeZone = 'UTC'").Close(); err != nil {
			t.Fatal(err)
		}
	}
	const (
		dateOID        = 1082
		timestampOID   = 1114
		timestamptzOID = 1184
	)
	cases := []struct {
		typ string
		oid uint32
		lit string
	}{
		{"date", dateOID, "infinity"},
		{"date", dateOID, "-infinity"},
		{"date", dateOID, "2000-01-01"},
		{"date", dateOID, "1999-12-31"},
		{"date", dateOID, "4714-11-24 BC"},
		{"date", dateOID, "5874897-12-31"},
		{"timestamp", timestampOID, "infinity"},
		{"timestamp", timestampOID, "-infinity"},
		{"timestamp", timestampOID, "2000-01-01 00:00:00.000001"},
		{"timestamp", timestampOID, "1969-12-31 23:59:59.999999"},
		{"timestamp", timestampOID, "4714-11-24 00:00:00 BC"},
		{"timestamptz", timestamptzOID, "infinity"},
		{"timestamptz", timestamptzOID, "-infinity"},
		{"timestamptz", timestamptzOID, "2024-07-01 12:00:00+02"},
	}
	for _, tc := range cases {
		query := "SELECT '" + tc.lit + "'::" + tc.typ
		binaryOf := func(c *pgconn.PgConn) []byte {
			res := c.ExecParams(ctx, query, nil, nil, nil, []int16{1}).Read()
			if res.Err != nil {
				t.Fatalf("%s: %v", query, res.Err)
			}
			return res.Rows[0][0]
		}
		want, got := binaryOf(pg), binaryOf(wf)
		if !bytes.Equal(want, got) {
			t.Errorf("%s in binary: PostgreSQL %x, Weft %x", query, want, got)
		}
		// PostgreSQL's bytes as a binary parameter, shown as text
		textOf := func(c *pgconn.PgConn) string {
			res := c.ExecParams(ctx, "SELECT $1::"+tc.typ, [][]byte{want}, []uint32{tc.oid}, []int16{1}, []int16{0}).Read()
			if res.Err != nil {
				t.Fatalf("%s as a binary parameter: %v", query, res.Err)
			}
			return string(res.Rows[0][0])
		}
		if w, g := textOf(pg), textOf(wf); w != g {
			t.Errorf("%s as a binary parameter: PostgreSQL %q, Weft %q", query, w, g)
		}
	}
}

// TestDateTimeBinaryCopyInfinity compares binary COPY TO output of
// infinite and finite dates and timestamps with PostgreSQL's bytes, and
// loads PostgreSQL's bytes back with COPY FROM.
func TestDateTimeBinaryCopyInfinity(t *testing.T) {
	pgURL := pgtest.Start(t)
	weftURL := startServer(t)
	ctx := context.Background()
	setup := "CREATE TABLE spans (d date, ts timestamp, tz timestamptz); " +
		"INSERT INTO spans VALUES ('infinity', '-infinity', 'infinity'), ('2024-02-29', '2024-02-29 12:00:00.5', '1999-12-31 23:59:59+00'), " +
		"(NULL, 'infinity', NULL), ('-infinity', NULL, '-infinity')"
	var want []byte
	for i, url := range []string{pgURL, weftURL} {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if err := c.PgConn().Exec(ctx, "SET TimeZone = 'UTC'; DROP TABLE IF EXISTS spans; "+setup).Close(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := c.PgConn().CopyTo(ctx, &out, "COPY spans TO STDOUT (FORMAT binary)"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = out.Bytes()
			continue
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("binary COPY TO:\nPostgreSQL %x\nWeft       %x", want, out.Bytes())
		}
		if _, err := c.PgConn().CopyFrom(ctx, bytes.NewReader(want), "COPY spans FROM STDIN (FORMAT binary)"); err != nil {
			t.Fatal(err)
		}
		res := c.PgConn().ExecParams(ctx, "SELECT count(*), count(d), count(*) FILTER (WHERE d = 'infinity'), count(*) FILTER (WHERE ts = '-infinity'), count(*) FILTER (WHERE tz = '-infinity') FROM spans", nil, nil, nil, nil).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		var fields []string
		for _, f := range res.Rows[0] {
			fields = append(fields, string(f))
		}
		if got := strings.Join(fields, "|"); got != "8|6|2|2|2" {
			t.Errorf("after COPY FROM: rows, dates, infinite dates, -infinite timestamps and timestamptz = %s, want 8|6|2|2|2", got)
		}
	}
}

// TestTimestampBinaryPastWeftRange checks that a binary timestamp that
// PostgreSQL can hold but Weft cannot (its range ends 30 years earlier)
// is refused with 22008 rather than wrapped.
func TestTimestampBinaryPastWeftRange(t *testing.T) {
	weftURL := startServer(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, weftURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	// 294276-12-31 00:00:00 in microseconds from 2000-01-01
	raw := []byte{0x7f, 0xff, 0xff, 0x47, 0x95, 0xdb, 0x40, 0x00}
	res := c.PgConn().ExecParams(ctx, "SELECT $1::timestamp", [][]byte{raw}, []uint32{1114}, []int16{1}, []int16{0}).Read()
	var pgErr *pgconn.PgError
	if res.Err == nil || !errors.As(res.Err, &pgErr) || pgErr.Code != "22008" {
		t.Fatalf("want 22008 timestamp out of range, got %v (rows %q)", res.Err, res.Rows)
	}
}
