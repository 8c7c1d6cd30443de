package driver_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/weftdb/weft/driver"
	"github.com/weftdb/weft/pgsource/pgtest"
)

// roundTrip is what one driver gives back for a value stored through a
// parameter and read back.
type roundTrip struct {
	value    any    // as Scan into *any gives it
	text     string // v::text
	typeName string // ColumnTypeDatabaseTypeName
	scanType reflect.Type
}

// storeAndRead creates a one-column table of typ, inserts in through $1
// and reads the column and its text back. Each case has a table of its
// own: pgx caches statements by their text, and a cached plan must not
// change its result type.
func storeAndRead(db *sql.DB, table, typ string, in any) (roundTrip, error) {
	var rt roundTrip
	if _, err := db.Exec("CREATE TABLE " + table + " (v " + typ + ")"); err != nil {
		return rt, fmt.Errorf("create: %w", err)
	}
	if _, err := db.Exec("INSERT INTO "+table+" VALUES ($1)", in); err != nil {
		return rt, fmt.Errorf("insert: %w", err)
	}
	rows, err := db.Query("SELECT v, v::text FROM " + table)
	if err != nil {
		return rt, err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return rt, err
	}
	rt.typeName, rt.scanType = cts[0].DatabaseTypeName(), cts[0].ScanType()
	if !rows.Next() {
		return rt, fmt.Errorf("no row: %v", rows.Err())
	}
	var text sql.NullString
	if err := rows.Scan(&rt.value, &text); err != nil {
		return rt, err
	}
	rt.text = text.String
	return rt, rows.Err()
}

// openPostgres starts a throwaway PostgreSQL through pgx's database/sql
// driver, on one connection in UTC so that text forms are comparable.
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	pg, err := sql.Open("pgx", pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	pg.SetMaxOpenConns(1)
	if _, err := pg.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	return pg
}

// TestRoundTripMatchesPostgres stores Go values of each type through the
// weft driver and through pgx against PostgreSQL 15, and requires the
// same values, text forms and type names back. Values Go has no exact
// type for come from weft as PostgreSQL's text of them.
func TestRoundTripMatchesPostgres(t *testing.T) {
	pg := openPostgres(t)
	wf := openChecked(t)
	plus2 := time.FixedZone("plus2", 2*3600)
	cases := []struct {
		typ string
		in  any
	}{
		{"smallint", int64(-32768)},
		{"integer", int64(2147483647)},
		{"bigint", int64(-9223372036854775808)},
		{"bigint", "42"},
		{"real", 1.5},
		{"real", 0.1},
		{"double precision", 3.141592653589793},
		{"double precision", int64(7)},
		{"numeric(10,2)", "12.5"},
		{"numeric(6,3)", 2.25},
		{"numeric(20,0)", int64(-9223372036854775807)},
		{"numeric", "123456789.0001"},
		{"text", "héllo, 'world'\n"},
		{"varchar(5)", "abc"},
		{"char(4)", "ab"},
		{"boolean", true},
		{"boolean", "f"},
		{"bytea", []byte{0, 1, 2, 255}},
		{"date", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"date", "1999-12-31"},
		{"timestamp", time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{"timestamptz", time.Date(2024, 1, 2, 3, 4, 5, 0, plus2)},
		{"timestamptz", "2024-06-30 23:59:59.5+00"},
		{"time", "13:14:15.5"},
		{"interval", "1 day 02:03:04"},
		{"uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"json", `{"b": 1, "a": [2]}`},
		{"jsonb", `{"b": 1, "a": [2]}`},
		{"integer[]", "{1,2,3}"},
		{"text[]", `{a,"b c",NULL}`},
		{"inet", "192.168.0.1/24"},
		{"integer", nil},
		{"text", nil},
		{"timestamptz", nil},
		{"numeric(10,2)", nil},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s/%v", c.typ, c.in), func(t *testing.T) {
			table := fmt.Sprintf("rt%d", i)
			want, err := storeAndRead(pg, table, c.typ, c.in)
			if err != nil {
				t.Fatalf("postgres: %v", err)
			}
			got, err := storeAndRead(wf, table, c.typ, c.in)
			if err != nil {
				t.Fatalf("weft: %v", err)
			}
			if got.text != want.text {
				t.Errorf("v::text = %q, postgres %q", got.text, want.text)
			}
			if got.typeName != want.typeName {
				t.Errorf("type name %q, postgres %q", got.typeName, want.typeName)
			}
			if !sameValue(got.value, want) {
				t.Errorf("value %#v, postgres %#v (text %q)", got.value, want.value, want.text)
			}
			if got.value != nil && reflect.TypeOf(got.value) != got.scanType {
				t.Errorf("scan type %v, but Next gave a %T", got.scanType, got.value)
			}
		})
	}
}

// sameValue compares weft's value with what PostgreSQL gave: a string
// with PostgreSQL's text, a time by its instant, anything else exactly
// (pgx gives int64, float64, bool and []byte as weft does).
func sameValue(got any, want roundTrip) bool {
	switch g := got.(type) {
	case nil:
		return want.value == nil
	case string:
		return want.value != nil && g == want.text
	case time.Time:
		w, ok := want.value.(time.Time)
		return ok && g.Equal(w)
	case []byte:
		w, ok := want.value.([]byte)
		return ok && bytes.Equal(g, w)
	}
	return reflect.DeepEqual(got, want.value)
}

// TestErrorCodesMatchPostgres runs failing statements on both and
// requires PostgreSQL's SQLSTATE from weft, found with errors.As.
func TestErrorCodesMatchPostgres(t *testing.T) {
	pg := openPostgres(t)
	wf := openChecked(t)
	setup := []string{
		"DROP TABLE IF EXISTS e",
		"CREATE TABLE e (id integer PRIMARY KEY, name text NOT NULL, n smallint)",
		"INSERT INTO e VALUES (1, 'one', 1)",
	}
	for _, db := range []*sql.DB{pg, wf} {
		for _, q := range setup {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(q, err)
			}
		}
	}
	cases := []struct {
		query string
		args  []any
	}{
		{"SELEC 1", nil},
		{"SELECT * FROM missing", nil},
		{"SELECT nope FROM e", nil},
		{"INSERT INTO e VALUES (1, 'again', 0)", nil},
		{"INSERT INTO e VALUES ($1, $2, 0)", []any{2, nil}},
		{"SELECT 1 / (n - 1) FROM e", nil},
		{"UPDATE e SET n = $1", []any{"70000"}},
		{"SELECT $1::integer", []any{"twelve"}},
		{"SELECT 'x' + 1", nil},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			_, pgErr := pg.Exec(c.query, c.args...)
			var pe *pgconn.PgError
			if !errors.As(pgErr, &pe) {
				t.Fatalf("postgres gave %v, not an error with a SQLSTATE", pgErr)
			}
			_, err := wf.Exec(c.query, c.args...)
			var we *driver.Error
			if !errors.As(err, &we) {
				t.Fatalf("weft gave %v, want SQLSTATE %s", err, pe.Code)
			}
			if we.Code != pe.Code || driver.SQLState(err) != pe.Code {
				t.Errorf("weft: %s (%s), postgres: %s (%s)", we.Code, we.Message, pe.Code, pe.Message)
			}
		})
	}
}

// TestParameterArithmeticMatchesPostgres: parameters typed by the
// numeric beside them keep their digits. (Weft's unconstrained numeric
// has no per-value scale, so an argument with trailing zeros, '2.50',
// would print as 2.5 where PostgreSQL keeps them; and a quotient's
// digits follow a different rule: the cases avoid both.)
func TestParameterArithmeticMatchesPostgres(t *testing.T) {
	pg := openPostgres(t)
	wf := openChecked(t)
	for _, db := range []*sql.DB{pg, wf} {
		for _, q := range []string{"CREATE TABLE pa (n numeric(10,2), i integer)", "INSERT INTO pa VALUES (1.25, 7)"} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(q, err)
			}
		}
	}
	cases := []struct {
		expr string
		arg  any
	}{
		{"$1 + 1.5", "2.5"},
		{"n + $1", "2.505"},
		{"$1 - n", int64(3)},
		{"n * $1", "0.5"},
		{"n / $1", "0.5"},
		{"i + $1", int64(2)},
		{"i * $1", int64(3)},
		{"n % $1", "0.2"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			q := "SELECT (" + c.expr + ")::text FROM pa"
			var want, got string
			if err := pg.QueryRow(q, c.arg).Scan(&want); err != nil {
				t.Fatalf("postgres: %v", err)
			}
			if err := wf.QueryRow(q, c.arg).Scan(&got); err != nil {
				t.Fatalf("weft: %v", err)
			}
			if got != want {
				t.Errorf("weft %s, postgres %s", got, want)
			}
		})
	}
}
