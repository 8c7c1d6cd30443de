package engine

import (
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Nothing a transaction block changes may reach the disk before its
// COMMIT, whoever stores the database meanwhile: after a crash the
// database is as of the last committed transaction (as in PostgreSQL).
// Each block below runs over the same database and is crashed in the
// middle (alone, and after another session stored the database), rolled
// back after another session stored it, and committed; the answers are
// what PostgreSQL 15 gives for the same statements before and after the
// block.

const blockSetup = `CREATE TABLE t (a int, b text); INSERT INTO t SELECT g, 'r' || g FROM generate_series(1, 300) g;
	CREATE TABLE keep (k int); INSERT INTO keep VALUES (1), (2);
	CREATE VIEW kv AS SELECT k FROM keep WHERE k > 1;
	CREATE TABLE other (n int); CHECKPOINT`

// blockChecks are asked after every restart: the relations, enum types and
// columns there are, the comment on t, and the rows of the tables.
var blockChecks = []string{
	`SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
	`SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type ty JOIN pg_namespace n ON n.oid = ty.typnamespace WHERE n.nspname = 'public' AND typtype = 'e'`,
	`SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, ordinal_position) FROM information_schema.columns WHERE table_name IN ('t', 't2', 'u')`,
	`SELECT count(*), sum(k) FROM keep`,
}

// blockBefore are the answers to blockChecks before any block.
var blockBefore = []string{
	"keep:r,kv:v,other:r,t:r",
	"NULL",
	"t.a,t.b",
	"2|3",
}

var blockCases = []struct {
	name  string
	block string // the statements between BEGIN and its end
	// committed answers blockChecks once the block committed
	committed []string
	// rows is a query on the block's tables: before the block, and after
	rows            string
	before, rowsNow string
}{
	{
		name: "drop table", block: "DROP TABLE t",
		committed: []string{"keep:r,kv:v,other:r", "NULL", "NULL", "2|3"},
		rows:      "SELECT count(*) FROM pg_class WHERE relname = 't'", before: "1", rowsNow: "0",
	},
	{
		name: "alter table", block: "ALTER TABLE t ADD COLUMN c int DEFAULT 7; INSERT INTO t VALUES (301, 'r301', 8); DELETE FROM keep WHERE k = 1",
		committed: []string{"keep:r,kv:v,other:r,t:r", "NULL", "t.a,t.b,t.c", "1|2"},
		rows:      "SELECT count(*), sum(a), max(b) FROM t", before: "300|45150|r99", rowsNow: "301|45451|r99",
	},
	{
		name: "alter column type", block: "ALTER TABLE t ALTER COLUMN a TYPE bigint USING a * 2; ALTER TABLE t DROP COLUMN b",
		committed: []string{"keep:r,kv:v,other:r,t:r", "NULL", "t.a", "2|3"},
		rows:      "SELECT count(*), sum(a) FROM t", before: "300|45150", rowsNow: "300|90300",
	},
	{
		name: "create table", block: "CREATE TABLE u (id serial, m text); INSERT INTO u (m) VALUES ('x'), ('y')",
		committed: []string{"keep:r,kv:v,other:r,t:r,u:r,u_id_seq:S", "NULL", "t.a,t.b,u.id,u.m", "2|3"},
		rows:      "SELECT count(*) FROM pg_class WHERE relname = 'u'", before: "0", rowsNow: "1",
	},
	{
		name: "types, sequences, views", block: "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE SEQUENCE sq; CREATE VIEW tv AS SELECT a FROM t WHERE a <= 10; DROP VIEW kv",
		committed: []string{"keep:r,other:r,sq:S,t:r,tv:v", "mood", "t.a,t.b", "2|3"},
		rows:      "SELECT count(*) FROM pg_class WHERE relname IN ('sq', 'tv')", before: "0", rowsNow: "2",
	},
	{
		name: "comment, indexes, rename", block: "COMMENT ON TABLE t IS 'moved'; CREATE INDEX t_a ON t (a); CREATE UNIQUE INDEX t_b ON t (b); ALTER TABLE t RENAME TO t2",
		committed: []string{"keep:r,kv:v,other:r,t2:r,t_a:i,t_b:i", "NULL", "t2.a,t2.b", "2|3"},
		rows:      "SELECT coalesce(obj_description(oid, 'pg_class'), '-') FROM pg_class WHERE relname IN ('t', 't2')", before: "-", rowsNow: "moved",
	},
	{
		name: "drop and create again", block: "DROP TABLE t; CREATE TABLE t (z text); INSERT INTO t VALUES ('new'); CREATE OR REPLACE VIEW kv AS SELECT k FROM keep WHERE k > 5",
		committed: []string{"keep:r,kv:v,other:r,t:r", "NULL", "t.z", "2|3"},
		rows:      "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM kv)", before: "300|1", rowsNow: "1|0",
	},
}

// blockEnd is how a scenario ends the block.
type blockEnd int

const (
	crashInBlock blockEnd = iota // the process dies inside the block
	rollBack                     // ROLLBACK, then the process dies
	commit                       // COMMIT, then the process dies
)

func TestBlockDDLIsDurableOnlyAtCommit(t *testing.T) {
	scenarios := []struct {
		name string
		// otherStores: another session writes and stores the whole
		// database (CHECKPOINT) while the block is open
		otherStores bool
		end         blockEnd
	}{
		{"crash inside the block", false, crashInBlock},
		{"crash after another session's checkpoint", true, crashInBlock},
		{"rollback after another session's checkpoint", true, rollBack},
		{"rollback", false, rollBack},
		{"commit after another session's checkpoint", true, commit},
		{"commit", false, commit},
	}
	for _, c := range blockCases {
		for _, sc := range scenarios {
			t.Run(c.name+"/"+sc.name, func(t *testing.T) {
				dir := t.TempDir()
				db, mem := openWALTest(t, dir)
				s := db.NewSession()
				mustSQL(t, s, blockSetup)
				mustSQL(t, s, "BEGIN; "+c.block)
				others := "0"
				if sc.otherStores {
					o := db.NewSession()
					mustSQL(t, o, "INSERT INTO other VALUES (1); CHECKPOINT")
					o.Close()
					others = "1"
				}
				want, wantRows := blockBefore, c.before
				switch sc.end {
				case crashInBlock:
					s.endTxn() // only lets go of its memory: the process is gone
				case rollBack:
					mustSQL(t, s, "ROLLBACK")
					checkAnswers(t, s, "after ROLLBACK", want, c.rows, wantRows, others)
				case commit:
					mustSQL(t, s, "COMMIT")
					want, wantRows = c.committed, c.rowsNow
				}
				s.Close()
				crash(t, db, mem)

				db, mem = openWALTest(t, dir)
				s = db.NewSession()
				checkAnswers(t, s, "after a crash", want, c.rows, wantRows, others)
				s.Close()
				closeClean(t, db, mem)
			})
		}
	}
}

func checkAnswers(t *testing.T, s *Session, when string, want []string, rows, wantRows, others string) {
	t.Helper()
	for i, q := range blockChecks {
		if got := one(t, s, q); got != want[i] {
			t.Errorf("%s: %s = %s, want %s", when, q, got, want[i])
		}
	}
	if got := one(t, s, rows); got != wantRows {
		t.Errorf("%s: %s = %s, want %s", when, rows, got, wantRows)
	}
	if got := one(t, s, "SELECT count(*) FROM other"); got != others {
		t.Errorf("%s: the other session's row count is %s, want %s", when, got, others)
	}
}

// TestBlockHoldsNamesItFreed: while a block that dropped or renamed a
// relation is open, the disk still has the relation under its old name,
// so no other session may take that name (PostgreSQL makes the other
// session wait; Weft refuses at once with 55P03). The block's own
// session may, and after the block ends everyone may.
func TestBlockHoldsNamesItFreed(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s, o := db.NewSession(), db.NewSession()
	mustSQL(t, s, `CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2); CREATE TABLE r (a int); CREATE VIEW v AS SELECT 1 AS x`)
	mustSQL(t, s, "BEGIN; DROP TABLE t; ALTER TABLE r RENAME TO r2; DROP VIEW v")
	for _, sql := range []string{
		"CREATE TABLE t (b text)",
		"CREATE TABLE r AS SELECT 1 AS a",
		"CREATE VIEW v AS SELECT 2 AS y",
		"CREATE SEQUENCE t",
		"CREATE TABLE x (a int)",
	} {
		err := execSQL(t, o, sql)
		if sql == "CREATE TABLE x (a int)" {
			if err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			continue
		}
		if code := sqlstate(err); code != sqlerr.LockNotAvailable {
			t.Errorf("%s while a block holds the name: %v (%s), want 55P03", sql, err, code)
		}
	}
	if err := execSQL(t, o, "ALTER TABLE x RENAME TO t"); sqlstate(err) != sqlerr.LockNotAvailable {
		t.Errorf("renaming to a held name: %v, want 55P03", err)
	}
	mustSQL(t, o, "CHECKPOINT")
	// the block itself may use the names again
	mustSQL(t, s, "CREATE TABLE t (z text); CREATE VIEW r AS SELECT 3 AS w; ROLLBACK")
	crash(t, db, mem)

	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	if got := one(t, s, `SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`); got != "r:r,t:r,v:v,x:r" {
		t.Errorf("after a crash the relations are %s", got)
	}
	if got := one(t, s, "SELECT sum(a) FROM t"); got != "3" {
		t.Errorf("after a crash t sums to %s", got)
	}
	mustSQL(t, s, "BEGIN; DROP TABLE t; COMMIT; CREATE TABLE t (b text)")
	s.Close()
	closeClean(t, db, mem)
}

// TestBlockHoldsTablesItChanged: while a block that altered, dropped or
// created a table is open, other sessions may not write it or change its
// definition (their change could not be stored before the block ends,
// and ROLLBACK would undo it): PostgreSQL makes them wait, Weft refuses
// with 55P03. A table the block only commented or indexed stays open to
// writes, and they are durable at once.
func TestBlockHoldsTablesItChanged(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s, o := db.NewSession(), db.NewSession()
	mustSQL(t, s, `CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2); CREATE TABLE c (a int); INSERT INTO c VALUES (5);
		CREATE VIEW w AS SELECT 1 AS x`)
	mustSQL(t, s, "BEGIN; ALTER TABLE t ADD COLUMN b int DEFAULT 0; CREATE TABLE u (a int); COMMENT ON TABLE c IS 'note'; CREATE OR REPLACE VIEW w AS SELECT 2 AS x; CREATE VIEW w2 AS SELECT 3 AS y")
	for _, sql := range []string{
		"INSERT INTO t (a) VALUES (3)",
		"UPDATE t SET a = a + 1",
		"DELETE FROM t",
		"TRUNCATE t",
		"ALTER TABLE t ADD COLUMN z int",
		"COMMENT ON TABLE t IS 'x'",
		"CREATE INDEX t_a ON t (a)",
		"DROP TABLE t",
		"INSERT INTO u VALUES (1)",
		"BEGIN; INSERT INTO t (a) VALUES (4)",
		"CREATE OR REPLACE VIEW w AS SELECT 4 AS x",
		"DROP VIEW w",
		"DROP VIEW w2",
	} {
		if err := execSQL(t, o, sql); sqlstate(err) != sqlerr.LockNotAvailable {
			t.Errorf("%s while a block holds the table: %v, want 55P03", sql, err)
		}
		if o.InTransaction() {
			mustSQL(t, o, "ROLLBACK")
		}
	}
	mustSQL(t, o, "INSERT INTO c VALUES (6); CHECKPOINT")
	s.endTxn() // the process dies with the block open
	crash(t, db, mem)

	db, mem = openWALTest(t, dir)
	s, o = db.NewSession(), db.NewSession()
	for q, want := range map[string]string{
		"SELECT count(*), sum(a) FROM t":                                         "2|3",
		"SELECT count(*) FROM information_schema.columns WHERE table_name = 't'": "1",
		"SELECT count(*) FROM pg_class WHERE relname = 'u'":                      "0",
		"SELECT count(*), sum(a) FROM c":                                         "2|11",
		"SELECT coalesce(obj_description('c'::regclass, 'pg_class'), '-')":       "-",
		"SELECT x FROM w": "1",
		"SELECT count(*) FROM pg_class WHERE relname = 'w2'": "0",
	} {
		if got := one(t, s, q); got != want {
			t.Errorf("after a crash: %s = %s, want %s", q, got, want)
		}
	}
	// once the block has ended the table is everyone's again
	mustSQL(t, s, "BEGIN; ALTER TABLE t ADD COLUMN b int DEFAULT 0")
	if err := execSQL(t, o, "INSERT INTO t VALUES (3, 3)"); sqlstate(err) != sqlerr.LockNotAvailable {
		t.Errorf("INSERT while a block holds the table: %v, want 55P03", err)
	}
	mustSQL(t, s, "COMMIT")
	mustSQL(t, o, "INSERT INTO t VALUES (3, 3)")
	if got := one(t, o, "SELECT count(*), sum(a), sum(b) FROM t"); got != "3|6|3" {
		t.Errorf("after the block committed: %s", got)
	}
	s.Close()
	o.Close()
	closeClean(t, db, mem)
}

// sqlstate is err's SQLSTATE, "" for no error.
func sqlstate(err error) string {
	if err == nil {
		return ""
	}
	return sqlerr.Code(err)
}

// TestRenameInBlockKeepsSequenceOwner: a checkpoint while a block has
// renamed a table with a serial column stores the sequence still owned by
// the table's stored name, so after a crash dropping the table drops its
// sequence (as in PostgreSQL).
func TestRenameInBlockKeepsSequenceOwner(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s, o := db.NewSession(), db.NewSession()
	mustSQL(t, s, "CREATE TABLE s1 (id serial, v int)")
	mustSQL(t, s, "INSERT INTO s1 (v) VALUES (10), (20)")
	mustSQL(t, s, "BEGIN; ALTER TABLE s1 RENAME TO s2")
	mustSQL(t, o, "CHECKPOINT")
	s.endTxn() // the process dies with the block open
	crash(t, db, mem)

	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	if got := one(t, s, "SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM s1"); got != "1:10,2:20" {
		t.Errorf("after a crash s1 holds %s", got)
	}
	mustSQL(t, s, "DROP TABLE s1")
	if got := one(t, s, "SELECT count(*) FROM pg_class WHERE relname = 's1_id_seq'"); got != "0" {
		t.Errorf("dropping s1 left %s sequences", got)
	}
	s.Close()
	closeClean(t, db, mem)
}
