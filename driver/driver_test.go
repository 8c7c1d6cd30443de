package driver_test

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/driver"
)

// TestPreparedStatementReused runs one prepared INSERT and one prepared
// SELECT many times with different arguments.
func TestPreparedStatementReused(t *testing.T) {
	db := openChecked(t)
	mustExec(t, db, "CREATE TABLE p (id bigint, label text, score double precision)")
	ins, err := db.Prepare("INSERT INTO p VALUES ($1, $2, $3)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	const n = 100
	for i := 1; i <= n; i++ {
		res, err := ins.Exec(i, fmt.Sprintf("row %d", i), float64(i)/4)
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		if affected, err := res.RowsAffected(); err != nil || affected != 1 {
			t.Fatalf("insert %d affected %d rows (%v)", i, affected, err)
		}
	}
	sel, err := db.Prepare("SELECT label, score FROM p WHERE id = $1")
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	for _, id := range []int{1, 37, n} {
		var label string
		var score float64
		if err := sel.QueryRow(id).Scan(&label, &score); err != nil {
			t.Fatalf("id %d: %v", id, err)
		}
		if label != fmt.Sprintf("row %d", id) || score != float64(id)/4 {
			t.Errorf("id %d: got (%q, %v)", id, label, score)
		}
	}
	if got := queryInt64(t, db, "SELECT sum(id) FROM p"); got != n*(n+1)/2 {
		t.Errorf("sum(id) = %d, want %d", got, n*(n+1)/2)
	}
	if err := sel.QueryRow(1, 2).Scan(new(string), new(float64)); err == nil {
		t.Error("two arguments for one parameter were accepted")
	}
}

// TestTransactions covers commit, rollback, a failed statement inside a
// transaction, read-only transactions and the isolation levels.
func TestTransactions(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		opts *sql.TxOptions
		// body runs inside the transaction; wantErr is the SQLSTATE it
		// must fail with ("" none)
		body    func(tx *sql.Tx) error
		wantErr string
		commit  bool
		// commitErr is the SQLSTATE Commit must fail with ("" none)
		commitErr string
		wantRows  int64 // rows of tx_t after the transaction
	}{
		{name: "commit keeps", body: insertTwo, commit: true, wantRows: 2},
		{name: "rollback discards", body: insertTwo, wantRows: 0},
		{name: "failed statement rolls back at commit", body: func(tx *sql.Tx) error {
			if err := insertTwo(tx); err != nil {
				return err
			}
			_, err := tx.Exec("INSERT INTO tx_t VALUES (1)") // duplicate key
			return err
		}, wantErr: "23505", commit: true, commitErr: "25P02", wantRows: 0},
		{name: "read only refuses writes", opts: &sql.TxOptions{ReadOnly: true}, body: insertTwo, wantErr: "25006", commit: true, commitErr: "25P02"},
		{name: "read only reads", opts: &sql.TxOptions{ReadOnly: true}, body: func(tx *sql.Tx) error {
			return tx.QueryRow("SELECT count(*) FROM tx_t").Scan(new(int64))
		}, commit: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openChecked(t)
			mustExec(t, db, "CREATE TABLE tx_t (id integer PRIMARY KEY)")
			tx, err := db.BeginTx(ctx, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.body(tx); driver.SQLState(err) != c.wantErr {
				t.Errorf("body: %v, want SQLSTATE %q", err, c.wantErr)
			}
			if c.commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if driver.SQLState(err) != c.commitErr {
				t.Errorf("end: %v, want SQLSTATE %q", err, c.commitErr)
			}
			if got := queryInt64(t, db, "SELECT count(*) FROM tx_t"); got != c.wantRows {
				t.Errorf("%d rows after the transaction, want %d", got, c.wantRows)
			}
		})
	}
}

func insertTwo(tx *sql.Tx) error {
	_, err := tx.Exec("INSERT INTO tx_t VALUES ($1), ($2)", 1, 2)
	return err
}

// TestIsolationLevels checks what each sql.IsolationLevel begins, as
// PostgreSQL's SHOW transaction_isolation reports it.
func TestIsolationLevels(t *testing.T) {
	db := openChecked(t)
	cases := []struct {
		level sql.IsolationLevel
		want  string // "" when BeginTx must refuse the level
	}{
		{sql.LevelDefault, "read committed"},
		{sql.LevelReadUncommitted, "read uncommitted"},
		{sql.LevelReadCommitted, "read committed"},
		{sql.LevelRepeatableRead, "repeatable read"},
		{sql.LevelSnapshot, "repeatable read"},
		{sql.LevelSerializable, "serializable"},
		{sql.LevelWriteCommitted, ""},
		{sql.LevelLinearizable, ""},
	}
	for _, c := range cases {
		t.Run(c.level.String(), func(t *testing.T) {
			tx, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: c.level})
			if c.want == "" {
				if err == nil {
					tx.Rollback()
					t.Fatal("level accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			var got string
			if err := tx.QueryRow("SHOW transaction_isolation").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("transaction_isolation = %q, want %q", got, c.want)
			}
		})
	}
}

// TestConcurrentUse writes and reads from many goroutines through one
// pool, each on a connection of its own.
func TestConcurrentUse(t *testing.T) {
	db := openChecked(t)
	db.SetMaxOpenConns(4)
	mustExec(t, db, "CREATE TABLE c (worker integer, n integer)")
	// one prepared statement shared by the goroutines: database/sql
	// prepares it again on each connection it runs on
	ins, err := db.Prepare("INSERT INTO c VALUES ($1, $2)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				if _, err := ins.Exec(w, i); err != nil {
					errs <- err
					return
				}
				var seen int64
				if err := db.QueryRow("SELECT count(*) FROM c WHERE worker = $1", w).Scan(&seen); err != nil {
					errs <- err
					return
				}
				if seen != int64(i) {
					errs <- fmt.Errorf("worker %d sees %d of its rows after inserting %d", w, seen, i)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := queryInt64(t, db, "SELECT count(*) FROM c"); got != workers*each {
		t.Errorf("%d rows, want %d", got, workers*each)
	}
	if got := queryInt64(t, db, "SELECT sum(n) FROM c"); got != workers*each*(each+1)/2 {
		t.Errorf("sum(n) = %d, want %d", got, workers*each*(each+1)/2)
	}
}

// TestCancelLongQuery cancels a query that would run for hours: the
// error is both the context's and SQLSTATE 57014, and the connection
// stays usable.
func TestCancelLongQuery(t *testing.T) {
	db, wdb := openCheckedDB(t, weft.Options{Partitions: 2})
	db.SetMaxOpenConns(1)
	watch := sql.OpenDB(driver.NewConnectorFor(wdb))
	defer watch.Close()
	const long = "SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// cancel once the query runs: how soon it starts depends on the
		// machine's load, and cancelled before it starts it fails in
		// database/sql, with no SQLSTATE
		defer cancel()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			var running int
			err := watch.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = $1", long).Scan(&running)
			if err != nil || running > 0 {
				return
			}
		}
	}()
	var n int64
	err := db.QueryRowContext(ctx, long).Scan(&n)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v (n=%d), want a cancellation", err, n)
	}
	if code := driver.SQLState(err); code != "57014" {
		t.Errorf("SQLSTATE %q, want 57014", code)
	}
	if got := queryInt64(t, db, "SELECT 40 + 2"); got != 42 {
		t.Errorf("after the cancel: %d", got)
	}
}

// TestDeadlineInsideTransaction: a statement cut off by its context's
// deadline fails the transaction block, which then rolls back.
func TestDeadlineInsideTransaction(t *testing.T) {
	db := openChecked(t)
	mustExec(t, db, "CREATE TABLE d (x integer)")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO d VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = tx.ExecContext(ctx, "INSERT INTO d SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b")
	if !errors.Is(err, context.DeadlineExceeded) || driver.SQLState(err) != "57014" {
		t.Fatalf("got %v, want a deadline with SQLSTATE 57014", err)
	}
	tx.Rollback()
	if got := queryInt64(t, db, "SELECT count(*) FROM d"); got != 0 {
		t.Errorf("%d rows kept", got)
	}
}

// TestNulls scans NULLs of each kind into sql.Null types and pointers.
func TestNulls(t *testing.T) {
	db := openChecked(t)
	mustExec(t, db, "CREATE TABLE n (i integer, f double precision, s text, b boolean, ts timestamp, by bytea)")
	mustExec(t, db, "INSERT INTO n VALUES ($1, $2, $3, $4, $5, $6)", nil, nil, nil, nil, nil, nil)
	mustExec(t, db, "INSERT INTO n VALUES ($1, $2, $3, $4, $5, $6)", 1, 2.5, "x", true, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), []byte("y"))
	rows, err := db.Query("SELECT i, f, s, b, ts, by FROM n ORDER BY i NULLS FIRST")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			i  sql.NullInt64
			f  sql.NullFloat64
			s  sql.NullString
			b  sql.NullBool
			ts sql.NullTime
			by []byte
		)
		if err := rows.Scan(&i, &f, &s, &b, &ts, &by); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%v %v %v %v %v %v", i, f, s, b, ts.Valid, by == nil))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"{0 false} {0 false} { false} {false false} false true",
		"{1 true} {2.5 true} {x true} {true true} true false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

// TestColumnMetadata reads the column types' nullability, lengths and
// precision off a table and off computed columns.
func TestColumnMetadata(t *testing.T) {
	db := openChecked(t)
	mustExec(t, db, "CREATE TABLE m (id integer NOT NULL, name varchar(20), code char(3), price numeric(8,2), note text, ratio numeric)")
	rows, err := db.Query("SELECT id, name, code, price, note, ratio, id + 1 AS next FROM m")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	type meta struct {
		name, dbType         string
		nullable, nullableOK bool
		length               int64
		lengthOK             bool
		prec, scale          int64
		precOK               bool
	}
	want := []meta{
		{"id", "INT4", false, true, 0, false, 0, 0, false},
		{"name", "VARCHAR", true, true, 20, true, 0, 0, false},
		{"code", "BPCHAR", true, true, 3, true, 0, 0, false},
		{"price", "NUMERIC", true, true, 0, false, 8, 2, true},
		{"note", "TEXT", true, true, math.MaxInt64, true, 0, 0, false},
		{"ratio", "NUMERIC", true, true, 0, false, 0, 0, false},
		{"next", "INT4", false, false, 0, false, 0, 0, false},
	}
	for i, ct := range cts {
		var m meta
		m.name, m.dbType = ct.Name(), ct.DatabaseTypeName()
		m.nullable, m.nullableOK = ct.Nullable()
		m.length, m.lengthOK = ct.Length()
		m.prec, m.scale, m.precOK = ct.DecimalSize()
		if m != want[i] {
			t.Errorf("column %d: %+v, want %+v", i, m, want[i])
		}
	}
}

// TestMultipleStatements: without arguments a string of statements runs
// whole, and each that returns rows is a result set.
func TestMultipleStatements(t *testing.T) {
	db := openChecked(t)
	res := mustExec(t, db, "CREATE TABLE ms (x integer); INSERT INTO ms VALUES (1), (2), (3)")
	if n, _ := res.RowsAffected(); n != 3 {
		t.Errorf("RowsAffected = %d, want 3 (the last statement's)", n)
	}
	rows, err := db.Query("SELECT sum(x) FROM ms; UPDATE ms SET x = x * 10; SELECT x FROM ms ORDER BY x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sets [][]int64
	for {
		var set []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			set = append(set, v)
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			break
		}
	}
	if fmt.Sprint(sets) != "[[6] [10 20 30]]" {
		t.Errorf("result sets %v", sets)
	}
	for _, empty := range []string{"", " ; ", "-- only a comment"} {
		if n, err := mustExec(t, db, empty).RowsAffected(); n != 0 || err != nil {
			t.Errorf("%q affected %d (%v)", empty, n, err)
		}
		rows, err := db.Query(empty)
		if err != nil {
			t.Fatalf("%q: %v", empty, err)
		}
		if cols, _ := rows.Columns(); len(cols) != 0 || rows.Next() {
			t.Errorf("%q returned columns %v or a row", empty, cols)
		}
		rows.Close()
	}
	if _, err := db.Prepare("SELECT 1; SELECT 2"); driver.SQLState(err) != "42601" {
		t.Errorf("preparing two statements: %v, want 42601", err)
	}
}

// TestManyBatches reads a result of many small batches, all of it and
// then only a part of it; the checked allocator sees every batch freed.
func TestManyBatches(t *testing.T) {
	db := openCheckedWith(t, weft.Options{Partitions: 2, BatchSize: 64})
	const n = 10000
	var sum, count int64
	rows, err := db.Query("SELECT g FROM generate_series(1, $1) g", n)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		sum, count = sum+v, count+1
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if count != n || sum != n*(n+1)/2 {
		t.Errorf("%d rows summing to %d", count, sum)
	}
	rows, err = db.Query("SELECT g, g::text FROM generate_series(1, $1) g", n)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && rows.Next(); i++ {
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRowsStream: a query's rows reach Rows.Next as they are computed:
// the rows before one that fails arrive, then the error (22012), with and
// without arguments.
func TestRowsStream(t *testing.T) {
	db := openCheckedWith(t, weft.Options{Partitions: 1, BatchSize: 1000})
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT CASE WHEN g <= 2500 THEN g ELSE 1 / (g - g) END FROM generate_series(1, 5000) g", nil},
		{"SELECT CASE WHEN g <= $1 THEN g ELSE 1 / (g - g) END FROM generate_series(1, 5000) g", []any{2500}},
	} {
		rows, err := db.Query(q.sql, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if driver.SQLState(rows.Err()) != "22012" || n == 0 || n > 2500 {
			t.Errorf("%s: %d rows, then %v; want the first batches, then 22012", q.sql, n, rows.Err())
		}
		rows.Close()
	}
}

// TestArgumentConversions: Go values other than the column's own type,
// slices as arrays, driver.Valuer, and what the driver refuses.
func TestArgumentConversions(t *testing.T) {
	db := openChecked(t)
	mustExec(t, db, "CREATE TABLE a (i integer, f real, tags text[], ids bigint[], d date, n numeric(5,1))")
	mustExec(t, db, "INSERT INTO a VALUES ($1, $2, $3, $4, $5, $6)",
		int8(7), float32(0.5), []string{"a", "b c", ""}, []int64{3, -4}, celsius(21.5), sql.NullString{String: "9.95", Valid: true})
	var i int64
	var f float64
	var tags, ids, n string
	var d time.Time
	if err := db.QueryRow("SELECT i, f, tags, ids, d, n FROM a").Scan(&i, &f, &tags, &ids, &d, &n); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d %v %s %s %s %s", i, f, tags, ids, d.Format("2006-01-02"), n)
	if want := `7 0.5 {a,"b c",""} {3,-4} 2021-05-01 10.0`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	refusals := []struct {
		query string
		args  []any
		code  string
	}{
		{"SELECT $1::integer", []any{int64(math.MaxInt64)}, "22003"},
		{"SELECT $1::integer", []any{sql.Named("x", 1)}, "0A000"},
		{"SELECT $1::boolean", []any{"maybe"}, "22P02"},
		{"SELECT $1::date", []any{true}, "22007"},
	}
	for _, r := range refusals {
		if _, err := db.Exec(r.query, r.args...); driver.SQLState(err) != r.code {
			t.Errorf("%s %v: %v, want SQLSTATE %s", r.query, r.args, err, r.code)
		}
	}
	if _, err := mustExec(t, db, "INSERT INTO a (i) VALUES (1)").LastInsertId(); driver.SQLState(err) != "0A000" {
		t.Errorf("LastInsertId: %v", err)
	}
}

// celsius is a driver.Valuer; its value is a date in text, to show the
// Valuer is called before conversion.
type celsius float64

func (c celsius) Value() (sqldriver.Value, error) {
	return fmt.Sprintf("2021-05-%02d", int(c)-20), nil
}

// TestSessionSettingsFromDSN: keys the DSN does not know are settings
// every connection starts with.
func TestSessionSettingsFromDSN(t *testing.T) {
	db, err := sql.Open("weft", ":memory:?timezone=Asia/Tokyo&search_path=s1,public")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var zone, path string
	if err := db.QueryRow("SELECT current_setting('TimeZone'), current_setting('search_path')").Scan(&zone, &path); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL keeps a list set through set_config as written
	if zone != "Asia/Tokyo" || path != "s1,public" {
		t.Errorf("TimeZone %q, search_path %q", zone, path)
	}
	for _, q := range []struct {
		query string
		args  []any
	}{
		{"SELECT '2024-01-01 09:00:00+09'::timestamptz", nil},
		{"SELECT $1::timestamptz", []any{"2024-01-01 09:00:00"}}, // read in the session's zone
		{"SELECT $1::timestamptz", []any{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		var ts time.Time
		if err := db.QueryRow(q.query, q.args...).Scan(&ts); err != nil {
			t.Fatal(err)
		}
		if name, off := ts.Zone(); ts.Hour() != 9 || off != 9*3600 || !ts.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s %v: read as %v (zone %s)", q.query, q.args, ts, name)
		}
	}
	bad, err := sql.Open("weft", ":memory:?timezone=Not/AZone")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Ping(); driver.SQLState(err) != "22023" {
		t.Errorf("bad time zone: %v, want 22023", err)
	}
}

// TestStatementTimeoutFromDSN: a statement_timeout in the DSN cuts a long
// query off with SQLSTATE 57014, though no context ended.
func TestStatementTimeoutFromDSN(t *testing.T) {
	db, err := sql.Open("weft", ":memory:?statement_timeout=50")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec("SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b")
	if driver.SQLState(err) != "57014" || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a statement timeout (57014)", err)
	}
}

// TestResetDropsLeftOpenBlock: a BEGIN run as a plain statement must not
// leave the next user of the pooled connection inside its block; the pool
// drops that connection (closing it rolls the block back).
func TestResetDropsLeftOpenBlock(t *testing.T) {
	db := openChecked(t)
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE r (x integer)")
	mustExec(t, db, "BEGIN")
	tx, err := db.Begin()
	if err != nil {
		t.Fatalf("BeginTx after a stray BEGIN: %v", err)
	}
	if _, err := tx.Exec("INSERT INTO r VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := queryInt64(t, db, "SELECT count(*) FROM r"); got != 1 {
		t.Errorf("%d rows after the commit", got)
	}
}
