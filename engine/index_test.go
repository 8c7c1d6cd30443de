package engine_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// indexQueries are answered through the named index (EXPLAIN shows it)
// and must give what a scan gives. An ORDER BY query compares in order.
var indexQueries = []struct {
	sql   string
	index string
}{
	{"SELECT * FROM items WHERE id = 17", "items_pkey"},
	{"SELECT * FROM items WHERE 17 = id", "items_pkey"},
	{"SELECT * FROM items WHERE id = 17::bigint", "items_pkey"},
	{"SELECT * FROM items WHERE id IN (17::bigint, 5000000000)", "items_pkey"},
	{"SELECT * FROM items WHERE id IN (3, 1, 2, 2, NULL, 100000)", "items_pkey"},
	{"SELECT * FROM items WHERE id = NULL", "items_pkey"},
	{"SELECT * FROM items WHERE id > 10 AND id <= 20", "items_pkey"},
	{"SELECT * FROM items WHERE id >= 10 AND id < 20", "items_pkey"},
	{"SELECT * FROM items WHERE id BETWEEN 30 AND 35", "items_pkey"},
	{"SELECT * FROM items WHERE id < 5", "items_pkey"},
	{"SELECT * FROM items WHERE id > 19995", "items_pkey"},
	{"SELECT * FROM items WHERE id > 20 AND id < 10", "items_pkey"},
	{"SELECT * FROM items WHERE id BETWEEN 40 AND 45 AND id IN (41, 44, 50)", "items_pkey"},
	{"SELECT * FROM items WHERE name = 'n77'", "items_name_idx"},
	{"SELECT * FROM items WHERE name >= 'n998' AND name < 'n9990'", "items_name_idx"},
	{"SELECT * FROM items WHERE name IS NULL", "items_name_idx"},
	{"SELECT * FROM items WHERE grp = 4 AND sub = 7", "items_grp_sub_idx"},
	{"SELECT * FROM items WHERE grp = 4 AND sub > 20", "items_grp_sub_idx"},
	{"SELECT * FROM items WHERE grp IN (2, 5) AND sub IN (1, 3)", "items_grp_sub_idx"},
	{"SELECT * FROM items WHERE grp = 6 AND sub IS NULL", "items_grp_sub_idx"},
	{"SELECT * FROM items WHERE price = 2.5", "items_price_idx"},
	{"SELECT * FROM items WHERE price < -99", "items_price_idx"},
	{"SELECT count(*), sum(id) FROM items WHERE id < 300", "items_pkey"},
	{"SELECT * FROM items ORDER BY id LIMIT 7", "items_pkey"},
	{"SELECT * FROM items WHERE id > 100 ORDER BY id LIMIT 3 OFFSET 2", "items_pkey"},
	{"SELECT id, name FROM items ORDER BY name LIMIT 5", "items_name_idx"},
	{"SELECT grp, sub FROM items WHERE grp = 3 ORDER BY sub LIMIT 30", "items_grp_sub_idx"},
	{"SELECT * FROM items WHERE id IN (9, 4, 6) ORDER BY id LIMIT 2", "items_pkey"},
	{"SELECT * FROM items ORDER BY id DESC LIMIT 5", "items_pkey"},
	{"SELECT id, name FROM items WHERE name < 'n5' ORDER BY name DESC LIMIT 6", "items_name_idx"},
	{"SELECT name FROM items ORDER BY name DESC NULLS FIRST LIMIT 40", "items_name_idx"},
	{"SELECT grp, sub FROM items WHERE grp IN (2, 4) ORDER BY grp DESC, sub DESC LIMIT 40", "items_grp_sub_idx"},
}

// itemRows fills items with n rows: names unique but for NULLs, (grp,
// sub) pairs repeating with some NULL subs, prices from -100 to 398.
func itemRows(n int) string {
	return fmt.Sprintf(`INSERT INTO items SELECT i,
		CASE WHEN i %% 97 = 0 THEN NULL ELSE 'n' || i END,
		i %% 11,
		CASE WHEN i %% 31 = 0 THEN NULL ELSE i %% 23 END,
		(i %% 997) / 2.0 - 100
		FROM generate_series(1, %d) i`, n)
}

// checkIndexAnswers runs every indexQueries entry with and without index
// scans and requires the same rows, and the index in the plan.
func checkIndexAnswers(t *testing.T, s *engine.Session, when string) {
	t.Helper()
	for _, q := range indexQueries {
		mustExec(t, s, "SET enable_indexscan = on")
		plan := strings.Join(rows(t, s, "EXPLAIN "+q.sql), "\n")
		if !strings.Contains(plan, "Index Scan using "+q.index+" on items") {
			t.Errorf("%s: %s: the plan does not use %s:\n%s", when, q.sql, q.index, plan)
		}
		got := rows(t, s, q.sql)
		mustExec(t, s, "SET enable_indexscan = off")
		if plan := strings.Join(rows(t, s, "EXPLAIN "+q.sql), "\n"); strings.Contains(plan, "Index Scan") {
			t.Fatalf("enable_indexscan = off still uses an index:\n%s", plan)
		}
		want := rows(t, s, q.sql)
		if !strings.Contains(q.sql, "ORDER BY") {
			slices.Sort(got)
			slices.Sort(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %s:\nthrough the index %v\nby a scan        %v", when, q.sql, got, want)
		}
	}
	mustExec(t, s, "SET enable_indexscan = on")
}

func TestIndexScansMatchTableScans(t *testing.T) {
	// small batches over several partitions: row locators span many
	s := openChecked(t, engine.Options{Partitions: 3, BatchSize: 64})
	mustExec(t, s, `CREATE TABLE items (id int PRIMARY KEY, name text, grp int, sub int, price float8);
		CREATE INDEX items_name_idx ON items (name);
		CREATE INDEX items_grp_sub_idx ON items (grp, sub);
		CREATE INDEX items_price_idx ON items (price)`)
	mustExec(t, s, itemRows(20000))
	checkIndexAnswers(t, s, "after the load")

	rng := rand.New(rand.NewPCG(7, 8))
	next := 20001
	for round := 0; round < 120; round++ {
		id := 1 + rng.IntN(next)
		var sql string
		switch rng.IntN(6) {
		case 0:
			sql = fmt.Sprintf("INSERT INTO items VALUES (%d, 'n%d', %d, %d, %d)", next, next, next%11, next%23, next%5)
			next++
		case 1:
			sql = fmt.Sprintf("UPDATE items SET price = price + 1, sub = NULL WHERE id = %d", id)
		case 2:
			sql = fmt.Sprintf("UPDATE items SET id = %d, name = NULL WHERE id = %d", 100000+round, id)
		case 3:
			sql = fmt.Sprintf("DELETE FROM items WHERE id IN (%d, %d)", id, id+1)
		case 4:
			sql = fmt.Sprintf("UPDATE items SET grp = grp + 1 WHERE grp = %d AND sub = %d", rng.IntN(11), rng.IntN(23))
		case 5:
			sql = fmt.Sprintf("DELETE FROM items WHERE name = 'n%d'", id)
		}
		mustExec(t, s, sql)
	}
	checkIndexAnswers(t, s, "after 120 writes")

	// a block's own writes are seen through the index, and its ROLLBACK
	// puts the index back with the data
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "DELETE FROM items WHERE id < 50")
	mustExec(t, s, "UPDATE items SET id = -id WHERE id BETWEEN 100 AND 120")
	mustExec(t, s, "INSERT INTO items VALUES (17, 'again', 4, 7, 2.5)")
	checkIndexAnswers(t, s, "inside a block")
	mustExec(t, s, "ROLLBACK")
	checkIndexAnswers(t, s, "after ROLLBACK")

	mustExec(t, s, "TRUNCATE items")
	mustExec(t, s, itemRows(20000))
	checkIndexAnswers(t, s, "after TRUNCATE and a new load")
}

func TestIndexedWritesKeepKeysUnique(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 16})
	mustExec(t, s, `CREATE TABLE k (a int PRIMARY KEY, b text UNIQUE, c int)`)
	mustExec(t, s, `INSERT INTO k SELECT g, 'b' || g, g FROM generate_series(1, 1000) g`)
	cases := []struct {
		sql, err string
	}{
		{"UPDATE k SET a = 6 WHERE a = 5", "Key (a)=(6) already exists."},
		{"UPDATE k SET b = 'b9' WHERE a = 8", "Key (b)=(b9) already exists."},
		{"UPDATE k SET a = a + 1 WHERE a IN (10, 11)", "already exists"},
		{"INSERT INTO k VALUES (7, 'new', 0)", "Key (a)=(7) already exists."},
		{"INSERT INTO k VALUES (2000, 'b3', 0)", "Key (b)=(b3) already exists."},
	}
	for _, c := range cases {
		rs, err := s.Exec(t.Context(), c.sql)
		for _, r := range rs {
			r.Release()
		}
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.UniqueViolation || !strings.Contains(se.Detail, c.err) {
			t.Errorf("%s: got %v, want a unique violation with %q", c.sql, err, c.err)
		}
	}
	// a key moved away frees its value, NULL keys never conflict
	mustExec(t, s, "UPDATE k SET a = 5000 WHERE a = 5")
	mustExec(t, s, "UPDATE k SET a = 5 WHERE a = 6")
	mustExec(t, s, "UPDATE k SET b = NULL WHERE a IN (1, 2, 3)")
	mustExec(t, s, "INSERT INTO k VALUES (6, NULL, 0)")
	if got := rows(t, s, "SELECT a, b FROM k WHERE a IN (1, 5, 6, 5000) ORDER BY a"); !slices.Equal(got, []string{"1|NULL", "5|b6", "6|NULL", "5000|b5"}) {
		t.Errorf("got %v", got)
	}
	if got := rows(t, s, "SELECT count(*) FROM k WHERE b IS NULL"); !slices.Equal(got, []string{"4"}) {
		t.Errorf("NULL keys: got %v", got)
	}
}

func TestIndexJoinsMatchHashJoins(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 100})
	mustExec(t, s, `CREATE TABLE big (id bigint PRIMARY KEY, grp int, sub text, v text);
		CREATE INDEX big_grp_sub ON big (grp, sub);
		INSERT INTO big SELECT g, g % 40, 's' || (g % 7), 'v' || g FROM generate_series(1, 5000) g;
		CREATE TABLE probe (k int, g int, s text, w int);
		INSERT INTO probe VALUES (5, 3, 's3', 1), (4999, 39, 's0', 2), (7, NULL, 's1', 3), (NULL, 1, NULL, 4),
			(5, 3, 's4', 5), (200000, 12, 's5', 6), (60, 20, 's4', 7)`)
	cases := []struct{ sql, index string }{
		{"SELECT * FROM probe JOIN big ON big.id = probe.k", "big_pkey"},
		{"SELECT * FROM big JOIN probe ON big.id = probe.k", "big_pkey"},
		{"SELECT p.w, b.v FROM big b, probe p WHERE b.id = p.k AND b.v <> 'v7' AND p.w < 6", "big_pkey"},
		{"SELECT p.w, b.id FROM probe p JOIN big b ON b.grp = p.g AND b.sub = p.s", "big_grp_sub"},
		{"SELECT p.w, b.id FROM probe p JOIN big b ON b.grp = p.g AND b.sub = p.s AND b.id < p.k * 100", "big_grp_sub"},
	}
	for _, c := range cases {
		plan := strings.Join(rows(t, s, "EXPLAIN "+c.sql), "\n")
		if !strings.Contains(plan, "Index Nested Loop Join using "+c.index+" on big") {
			t.Errorf("%s: the plan does not probe %s:\n%s", c.sql, c.index, plan)
		}
		got := rows(t, s, c.sql)
		mustExec(t, s, "SET enable_indexscan = off")
		want := rows(t, s, c.sql)
		mustExec(t, s, "SET enable_indexscan = on")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s:\nindex join %v\nhash join  %v", c.sql, got, want)
		}
	}
}

// TestIndexesFollowAlterTable changes the columns under indexes: each
// answer must still match a scan's (an index of the old layout is never
// used, and deriving it must not fail).
func TestIndexesFollowAlterTable(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 256})
	mustExec(t, s, `CREATE TABLE t (a int PRIMARY KEY, b text, c int);
		CREATE INDEX t_c ON t (c);
		INSERT INTO t SELECT g, 'x' || g, g * 2 FROM generate_series(1, 5000) g`)
	queries := []string{"SELECT * FROM t WHERE a = 7", "SELECT * FROM t WHERE c = 18", "SELECT * FROM t WHERE c BETWEEN 100 AND 110"}
	check := func(when string) {
		t.Helper()
		for _, q := range queries {
			got := rows(t, s, q)
			mustExec(t, s, "SET enable_indexscan = off")
			want := rows(t, s, q)
			mustExec(t, s, "SET enable_indexscan = on")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Errorf("%s: %s: index %v, scan %v", when, q, got, want)
			}
		}
	}
	check("at first")
	for _, alter := range []string{
		"ALTER TABLE t DROP COLUMN b",
		"ALTER TABLE t ADD COLUMN d text DEFAULT 'dd'",
		"ALTER TABLE t ALTER COLUMN c TYPE bigint",
		"UPDATE t SET d = 'e' WHERE a = 7",
	} {
		mustExec(t, s, alter)
		check("after " + alter)
	}
}

// TestIndexReadsDuringWrites reads a row by key while another session
// keeps updating it and inserting rows: every read finds the row once,
// with a balance that never goes back.
func TestIndexReadsDuringWrites(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 2, BatchSize: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		db.Close()
		mem.AssertSize(t, 0)
	}()
	writer, reader := db.NewSession(), db.NewSession()
	mustExec(t, writer, `CREATE TABLE acc (id int PRIMARY KEY, bal int);
		INSERT INTO acc SELECT g, 0 FROM generate_series(1, 3000) g`)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 150; i++ {
			for _, sql := range []string{
				"UPDATE acc SET bal = bal + 1 WHERE id = 5",
				fmt.Sprintf("INSERT INTO acc VALUES (%d, 0)", 10000+i),
			} {
				rs, err := writer.Exec(t.Context(), sql)
				for _, r := range rs {
					r.Release()
				}
				if err != nil {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	last := -1
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		got := rows(t, reader, "SELECT bal FROM acc WHERE id = 5")
		if len(got) != 1 {
			t.Fatalf("id 5 found %d times", len(got))
		}
		var bal int
		fmt.Sscan(got[0], &bal)
		if bal < last {
			t.Fatalf("balance went back from %d to %d", last, bal)
		}
		last = bal
	}
	if got := rows(t, reader, "SELECT bal FROM acc WHERE id = 5"); !slices.Equal(got, []string{"150"}) {
		t.Errorf("final balance %v", got)
	}
}

// TestForeignKeysCheckedThroughIndexes inserts children after the
// parent's keys moved by indexed UPDATEs and DELETEs.
func TestForeignKeysCheckedThroughIndexes(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 64})
	mustExec(t, s, `CREATE TABLE parent (id int PRIMARY KEY, name text);
		INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 2000) g;
		CREATE TABLE child (pid bigint REFERENCES parent (id), note text);
		UPDATE parent SET id = 5000 WHERE id = 5;
		DELETE FROM parent WHERE id = 6;
		INSERT INTO child VALUES (5000, 'moved'), (7, 'kept'), (NULL, 'none')`)
	for _, bad := range []string{"INSERT INTO child VALUES (5, 'old key')", "INSERT INTO child VALUES (6, 'deleted')"} {
		rs, err := s.Exec(t.Context(), bad)
		for _, r := range rs {
			r.Release()
		}
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.ForeignKeyViolation {
			t.Errorf("%s: got %v, want a foreign key violation", bad, err)
		}
	}
	if got := rows(t, s, "SELECT count(*) FROM child"); !slices.Equal(got, []string{"3"}) {
		t.Errorf("children: %v", got)
	}
}
