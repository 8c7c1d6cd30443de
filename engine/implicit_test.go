package engine

import (
	"testing"
)

// TestStringIsOneTransaction runs multi-statement strings (as a simple
// Query message sends them) outside a block: they are one transaction,
// split only by the string's own BEGIN, COMMIT and ROLLBACK. The error
// codes and the rows and relations after each string, live and after a
// crash, are PostgreSQL 15's.
func TestStringIsOneTransaction(t *testing.T) {
	const check = `SELECT coalesce(string_agg(a::text, ',' ORDER BY a), '-'), (SELECT count(*) FROM pg_class WHERE relname = 'n'),
		(SELECT count(*) FROM information_schema.columns WHERE table_name = 'm') FROM m`
	for _, c := range []struct {
		sql, code, want string
	}{
		{"INSERT INTO m VALUES (3); SELECT 1/0; INSERT INTO m VALUES (4)", "22012", "1,2|0|1"},
		{"INSERT INTO m VALUES (3); UPDATE m SET a = a * 10; INSERT INTO m VALUES (20)", "23505", "1,2|0|1"},
		{"INSERT INTO m VALUES (3); UPDATE m SET a = a * 10", "", "10,20,30|0|1"},
		{"CREATE TABLE n (a int); INSERT INTO n VALUES (1); SELECT 1/0", "22012", "1,2|0|1"},
		{"CREATE TABLE n (a int); INSERT INTO n VALUES (1)", "", "1,2|1|1"},
		{"DROP TABLE m; SELECT 1/0", "22012", "1,2|0|1"},
		{"INSERT INTO m VALUES (3); COMMIT; INSERT INTO m VALUES (4); SELECT 1/0", "22012", "1,2,3|0|1"},
		{"INSERT INTO m VALUES (3); BEGIN; INSERT INTO m VALUES (4); ROLLBACK", "", "1,2|0|1"},
		{"INSERT INTO m VALUES (3); BEGIN; INSERT INTO m VALUES (4); COMMIT; DELETE FROM m WHERE a = 1; SELECT 1/0", "22012", "1,2,3,4|0|1"},
		{"INSERT INTO m VALUES (3); SAVEPOINT a; SELECT 1", "25P01", "1,2|0|1"},
		{"INSERT INTO m VALUES (3); VACUUM m", "25001", "1,2|0|1"},
		{"ALTER TABLE m ADD COLUMN b int; INSERT INTO m VALUES (3, 3); SELECT 1/0", "22012", "1,2|0|1"},
		{"INSERT INTO m VALUES (3); ROLLBACK; INSERT INTO m VALUES (4)", "", "1,2,4|0|1"},
		{"INSERT INTO m VALUES (3); BEGIN READ ONLY; SELECT 1; COMMIT", "", "1,2,3|0|1"},
		// (Weft commits the INSERT before BEGIN on its own: its blocks
		// cannot alter a table they wrote yet; the outcome is the same)
		{"INSERT INTO m VALUES (3); BEGIN; ALTER TABLE m ADD COLUMN b int; COMMIT", "", "1,2,3|0|2"},
		{"CREATE TABLE n AS SELECT 1 AS a; ALTER TABLE n ADD COLUMN b int; INSERT INTO m SELECT a + 2 FROM n", "", "1,2,3|1|1"},
	} {
		t.Run(c.sql, func(t *testing.T) {
			dir := t.TempDir()
			db, mem := openWALTest(t, dir)
			s := db.NewSession()
			mustSQL(t, s, "CREATE TABLE m (a int PRIMARY KEY)")
			mustSQL(t, s, "INSERT INTO m VALUES (1), (2)")
			err := execSQL(t, s, c.sql)
			if code := sqlstate(err); code != c.code {
				t.Errorf("error %v (%s), want %q", err, code, c.code)
			}
			if s.TxStatus() != 'I' {
				t.Errorf("the session is in state %c after the string, want I", s.TxStatus())
			}
			if got := one(t, s, check); got != c.want {
				t.Errorf("after the string: %s, want %s", got, c.want)
			}
			s.Close()
			crash(t, db, mem)
			db, mem = openWALTest(t, dir)
			s = db.NewSession()
			if got := one(t, s, check); got != c.want {
				t.Errorf("after a crash: %s, want %s", got, c.want)
			}
			s.Close()
			closeClean(t, db, mem)
		})
	}
}

// TestReadOnlyBeginInString: BEGIN READ ONLY after a write in one string
// makes the block the string continues in read-only: the INSERT after it
// fails with 25006, the session is in a failed block, and ROLLBACK undoes
// the write before BEGIN too (PostgreSQL 15: 1,2 after the ROLLBACK).
func TestReadOnlyBeginInString(t *testing.T) {
	db, mem := openWALTest(t, t.TempDir())
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE m (a int PRIMARY KEY); INSERT INTO m VALUES (1), (2)")
	err := execSQL(t, s, "INSERT INTO m VALUES (3); BEGIN READ ONLY; INSERT INTO m VALUES (4); COMMIT")
	if code := sqlstate(err); code != "25006" || s.TxStatus() != 'E' {
		t.Fatalf("error %v, state %c; want 25006 in a failed block", err, s.TxStatus())
	}
	mustSQL(t, s, "ROLLBACK")
	if got := one(t, s, "SELECT string_agg(a::text, ',' ORDER BY a) FROM m"); got != "1,2" {
		t.Errorf("after the ROLLBACK: %s, want 1,2", got)
	}
	s.Close()
	closeClean(t, db, mem)
}
