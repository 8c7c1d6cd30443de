package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"github.com/weftdb/weft/storage"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	weftexec "github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

func openDir(t *testing.T, dir string, mem memory.Allocator) *engine.DB {
	t.Helper()
	db, err := engine.Open(engine.Options{DataDir: dir, Mem: mem, Partitions: 2, BatchSize: 64,
		UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestDataSurvivesRestart stores tables, views, roles and wasm functions,
// reopens the directory and finds them all.
func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, `CREATE SCHEMA app;
		CREATE TABLE app.items (id bigint NOT NULL, name varchar(10) DEFAULT 'none', price numeric(8,2), at timestamp);
		INSERT INTO app.items SELECT g, 'n' || g, g * 1.5, '2024-01-01'::timestamp + g * interval '1 hour' FROM generate_series(1, 500) g;
		INSERT INTO app.items (id) VALUES (1000);
		UPDATE app.items SET price = 0 WHERE id <= 10;
		DELETE FROM app.items WHERE id BETWEEN 100 AND 199;
		CREATE VIEW app.cheap AS SELECT id FROM app.items WHERE price < 10;
		CREATE ROLE alice LOGIN PASSWORD 'pw';
		CALL weft.import_module('c_aggregates.wasm');
		CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' IMMUTABLE;
		CREATE FUNCTION app.priced(lo numeric, n int DEFAULT 3) RETURNS bigint LANGUAGE sql STABLE
			AS 'SELECT count(*) FROM app.items WHERE price >= lo AND id > n';
		CREATE TABLE gone (a int); DROP TABLE gone`)
	want := rows(t, s, "SELECT count(*), sum(id), sum(price), max(at), count(name) FROM app.items")
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	if got := rows(t, s, "SELECT count(*), sum(id), sum(price), max(at), count(name) FROM app.items"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart %v, before %v", got, want)
	}
	checks := map[string]string{
		"SELECT count(*) FROM app.cheap":                                  "10",
		"SELECT name FROM app.items WHERE id = 1000":                      "none",
		"SELECT add(40, 2)":                                               "42",
		"SELECT wsum(id) FROM app.items WHERE id < 5":                     "10",
		"SELECT count(*) FROM weft.functions":                             "4",
		"SELECT app.priced(n => 480, lo => 700)":                          "20",
		"SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'gone'": "0",
	}
	for q, want := range checks {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	// the role's password survived as a verifier
	if r, ok := db.Role("alice"); !ok || !strings.HasPrefix(r.Verifier, "SCRAM-SHA-256$") {
		t.Errorf("role alice: %+v %v", r, ok)
	}
	// new objects get new identifiers, not reused ones
	mustExec(t, s, "CREATE TABLE later (a int)")
	ids := rows(t, s, "SELECT count(DISTINCT oid), count(*) FROM pg_catalog.pg_class")
	if len(ids) != 1 || strings.Split(ids[0], "|")[0] != strings.Split(ids[0], "|")[1] {
		t.Errorf("duplicate OIDs after restart: %v", ids)
	}
}

func TestDataDirectoryIsLocked(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, memory.NewGoAllocator())
	defer db.Close()
	_, err := engine.Open(engine.Options{DataDir: dir})
	if sqlerr.Code(err) != sqlerr.ObjectInUse {
		t.Fatalf("second open: want 55006, got %v", err)
	}
}

// TestCrashKeepsAcknowledgedWrites kills a writer process with SIGKILL at
// random moments (0–80 ms after its first acknowledged statement), 20
// times, and checks after each restart that every acknowledged statement
// is there and nothing half-applied is. Beside the statements, the writer
// runs transaction blocks that each move an amount from one table to
// another (an UPDATE and an INSERT), migrations (blocks that alter a
// table and record that they did, committed, and blocks that drop and
// create tables, types and sequences, rolled back), and a session that
// checkpoints all the time: after every restart the amounts add up and
// every migration is there whole or not at all, so no checkpoint stored
// half a block, and no rolled-back or unfinished block left a trace.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if dir := os.Getenv("WEFT_CRASH_WRITER"); dir != "" {
		crashWriter(dir)
		return
	}
	dir := t.TempDir()
	setup := openDir(t, dir, memory.NewGoAllocator())
	mustExec(t, setup.NewSession(), `CREATE TABLE log (batch bigint, n bigint);
		CREATE TABLE acct (id int, bal bigint); INSERT INTO acct SELECT g, 1000 FROM generate_series(1, 10) g;
		CREATE TABLE moves (n bigint, id int, amount bigint);
		CREATE TABLE fixed (a int); INSERT INTO fixed SELECT g FROM generate_series(1, 100) g;
		CREATE TABLE mig (id int); CREATE TABLE migs (n bigint)`)
	setup.Close()
	acked := int64(0)    // batches acknowledged so far, over every run
	ackedTx := int64(0)  // transfer blocks acknowledged so far
	ackedMig := int64(0) // migrations acknowledged so far
	for round := 0; round < 20; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$")
		cmd.Env = append(os.Environ(), "WEFT_CRASH_WRITER="+dir, fmt.Sprintf("WEFT_CRASH_FROM=%d", acked+1), fmt.Sprintf("WEFT_CRASH_TX_FROM=%d", ackedTx+1), fmt.Sprintf("WEFT_CRASH_MIG_FROM=%d", ackedMig+1))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		done := make(chan struct{})
		firstAck := make(chan struct{})
		var ackedNow, ackedTxNow, ackedMigNow atomic.Int64
		ackedNow.Store(acked)
		ackedTxNow.Store(ackedTx)
		ackedMigNow.Store(ackedMig)
		var writerErr atomic.Value
		go func() {
			seen := false
			for sc.Scan() {
				line := sc.Text()
				n, err := strconv.ParseInt(line[strings.IndexByte(line, ' ')+1:], 10, 64)
				switch {
				case strings.HasPrefix(line, "ack ") && err == nil:
					ackedNow.Store(n)
				case strings.HasPrefix(line, "tx ") && err == nil:
					ackedTxNow.Store(n)
				case strings.HasPrefix(line, "mig ") && err == nil:
					ackedMigNow.Store(n)
				default:
					writerErr.Store(line)
					continue
				}
				if !seen {
					seen = true
					close(firstAck)
				}
			}
			close(done)
		}()
		// let the writer get going (however slow the machine), then kill it
		// at a random moment
		select {
		case <-firstAck:
		case <-time.After(10 * time.Second):
		}
		time.Sleep(time.Duration(rand.IntN(80)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()
		acked, ackedTx, ackedMig = ackedNow.Load(), ackedTxNow.Load(), ackedMigNow.Load()
		if e := writerErr.Load(); e != nil {
			t.Fatalf("round %d: the writer said %v", round, e)
		}

		db := openDir(t, dir, memory.NewGoAllocator())
		s := db.NewSession()
		got := rows(t, s, "SELECT count(DISTINCT batch), coalesce(max(batch), 0), count(*) FROM log")
		moved := rows(t, s, `SELECT (SELECT sum(bal) FROM acct) + (SELECT coalesce(sum(amount), 0) FROM moves),
			(SELECT count(*) FROM moves), (SELECT coalesce(max(n), 0) FROM moves), (SELECT count(DISTINCT n) FROM moves)`)
		migrated := rows(t, s, `SELECT (SELECT count(*) FROM migs), (SELECT coalesce(max(n), 0) FROM migs), (SELECT count(DISTINCT n) FROM migs),
			(SELECT count(*) FROM information_schema.columns WHERE table_name = 'mig'),
			(SELECT count(*) || ',' || sum(a) FROM fixed), (SELECT count(*) FROM pg_class WHERE relname IN ('tseq', 'gone')),
			(SELECT count(*) FROM pg_type WHERE typname = 'tmood')`)
		db.Close()
		// the committed migrations are there whole, and at most one
		// unacknowledged more; odd ones add column c, even ones drop it
		g := strings.Split(migrated[0], "|")
		nMig, maxMig, distinctMig, migCols := atoi(g[0]), atoi(g[1]), atoi(g[2]), atoi(g[3])
		if nMig != maxMig || distinctMig != maxMig || maxMig < ackedMig || maxMig > ackedMig+1 || migCols != 1+maxMig%2 {
			t.Fatalf("round %d: acknowledged %d migrations, found %d (max %d, distinct %d) with %d columns", round, ackedMig, nMig, maxMig, distinctMig, migCols)
		}
		ackedMig = maxMig
		if g[4] != "100,5050" || g[5] != "0" || g[6] != "0" {
			t.Fatalf("round %d: a rolled-back or unfinished block left a trace: fixed has %s rows,sum; %s of its relations and %s of its types are there", round, g[4], g[5], g[6])
		}
		m := strings.Split(moved[0], "|")
		total, nMoves, maxMove, distinctMoves := atoi(m[0]), atoi(m[1]), atoi(m[2]), atoi(m[3])
		// every block is there whole or not at all; every acknowledged
		// one is there, and at most one more
		if total != 10000 || nMoves != maxMove || distinctMoves != maxMove || maxMove < ackedTx || maxMove > ackedTx+1 {
			t.Fatalf("round %d: acknowledged %d transfers, found total=%d moves=%d max=%d distinct=%d", round, ackedTx, total, nMoves, maxMove, distinctMoves)
		}
		ackedTx = maxMove
		parts := strings.Split(got[0], "|")
		batches, maxBatch, total := atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
		// every acknowledged batch is there; at most one more (committed
		// but killed before it could say so); each batch has all its rows
		if maxBatch < acked || maxBatch > acked+1 || batches != maxBatch || total != batches*10 {
			t.Fatalf("round %d: acknowledged %d, found batches=%d max=%d rows=%d", round, acked, batches, maxBatch, total)
		}
		acked = maxBatch
	}
	if acked == 0 || ackedTx == 0 || ackedMig == 0 {
		t.Fatalf("the writer got %d statements, %d blocks and %d migrations acknowledged", acked, ackedTx, ackedMig)
	}
	t.Logf("%d statements, %d transfer blocks and %d migrations acknowledged over 20 crashes", acked, ackedTx, ackedMig)
}

// crashWriter inserts batches of 10 rows, one statement each (INSERT, a
// COPY from a file every fifth, an UPDATE before every seventh), printing
// an acknowledgement after each commit, until it is killed.
func crashWriter(dir string) {
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	db, err := engine.Open(engine.Options{DataDir: dir, FilesDir: filepath.Join(dir, "files"), Partitions: 2})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	txFrom, _ := strconv.ParseInt(os.Getenv("WEFT_CRASH_TX_FROM"), 10, 64)
	go crashTransfers(db, txFrom)
	migFrom, _ := strconv.ParseInt(os.Getenv("WEFT_CRASH_MIG_FROM"), 10, 64)
	go crashMigrations(db, migFrom)
	go crashCheckpoints(db)
	s := db.NewSession()
	from, _ := strconv.ParseInt(os.Getenv("WEFT_CRASH_FROM"), 10, 64)
	for b := from; ; b++ {
		sql := fmt.Sprintf("INSERT INTO log SELECT %d, g FROM generate_series(1, 10) g", b)
		if b%7 == 0 {
			sql = fmt.Sprintf("UPDATE log SET n = n WHERE batch = %d; %s", b-1, sql)
		}
		if b%5 == 0 { // a COPY from a file instead
			var rows strings.Builder
			for g := 1; g <= 10; g++ {
				fmt.Fprintf(&rows, "%d,%d\n", b, g)
			}
			if err := os.WriteFile(filepath.Join(dir, "files", "batch.csv"), []byte(rows.String()), 0o644); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			sql = "COPY log FROM 'batch.csv' (FORMAT csv)"
		}
		rs, err := s.Exec(context.Background(), sql)
		for _, r := range rs {
			r.Release()
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d\n", b)
	}
}

// crashTransfers runs transaction blocks numbered from from, each moving
// an amount out of one acct row into a new row of moves, printing "tx n"
// after each COMMIT.
func crashTransfers(db *engine.DB, from int64) {
	s := db.NewSession()
	for n := from; ; n++ {
		id := n%10 + 1
		sql := fmt.Sprintf("BEGIN; UPDATE acct SET bal = bal - %d WHERE id = %d; INSERT INTO moves VALUES (%d, %d, %d); COMMIT", n%7+1, id, n, id, n%7+1)
		crashExec(s, sql)
		fmt.Printf("tx %d\n", n)
	}
}

// crashMigrations runs migrations numbered from from, each a block that
// adds (odd) or drops (even) column c of mig and records its number in
// migs, printing "mig n" after each COMMIT; between them it runs blocks
// that drop fixed, create tables, a type and a sequence, and roll back.
func crashMigrations(db *engine.DB, from int64) {
	s := db.NewSession()
	for n := from; ; n++ {
		crashExec(s, `BEGIN; DROP TABLE fixed; CREATE TABLE fixed (z text); CREATE TABLE gone (a int); INSERT INTO gone VALUES (1);
			CREATE TYPE tmood AS ENUM ('a'); CREATE SEQUENCE tseq; ROLLBACK`)
		change := "ADD COLUMN c int"
		if n%2 == 0 {
			change = "DROP COLUMN c"
		}
		crashExec(s, fmt.Sprintf("BEGIN; ALTER TABLE mig %s; INSERT INTO migs VALUES (%d); COMMIT", change, n))
		fmt.Printf("mig %d\n", n)
	}
}

// crashCheckpoints stores the whole database over and over, concurrently
// with the writers.
func crashCheckpoints(db *engine.DB) {
	s := db.NewSession()
	for {
		crashExec(s, "CHECKPOINT")
		time.Sleep(5 * time.Millisecond)
	}
}

func crashExec(s *engine.Session, sql string) {
	rs, err := s.Exec(context.Background(), sql)
	for _, r := range rs {
		r.Release()
	}
	if err != nil {
		fmt.Printf("error: %s: %v\n", sql, err)
		os.Exit(1)
	}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// TestVacuumCompacts merges a table's batches and keeps its rows.
func TestVacuumCompacts(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, memory.NewGoAllocator())
	s := db.NewSession()
	mustExec(t, s, "CREATE TABLE t (a int)")
	// 25 batches of 40 rows (too big to merge into the previous batch of a
	// partition), made segments by CHECKPOINT
	for i := 0; i < 25; i++ {
		mustExec(t, s, fmt.Sprintf("INSERT INTO t SELECT g FROM generate_series(%d, %d) g", i*40, i*40+39))
	}
	mustExec(t, s, "CHECKPOINT")
	countFiles := func() int {
		n := 0
		filepathWalk(dir+"/data", func() { n++ })
		return n
	}
	before := countFiles()
	mustExec(t, s, "VACUUM t")
	after := countFiles()
	if after >= before {
		t.Errorf("VACUUM left %d segment files (had %d)", after, before)
	}
	if got := rows(t, s, "SELECT count(*), sum(a) FROM t"); got[0] != "1000|499500" {
		t.Errorf("after VACUUM: %v", got)
	}
	db.Close()
	db = openDir(t, dir, memory.NewGoAllocator())
	defer db.Close()
	if got := rows(t, db.NewSession(), "SELECT count(*), sum(a) FROM t"); got[0] != "1000|499500" {
		t.Errorf("after restart: %v", got)
	}
}

func filepathWalk(dir string, f func()) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			filepathWalk(dir+"/"+e.Name(), f)
		} else {
			f()
		}
	}
}

// TestAlterSurvivesRestart checks that ALTER TABLE changes are stored.
func TestAlterSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, memory.NewGoAllocator())
	mustExec(t, db.NewSession(), `CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x');
		ALTER TABLE t ADD COLUMN c int DEFAULT 5; ALTER TABLE t DROP COLUMN b; ALTER TABLE t RENAME COLUMN a TO k; ALTER TABLE t RENAME TO u`)
	db.Close()
	db = openDir(t, dir, memory.NewGoAllocator())
	defer db.Close()
	if got := rows(t, db.NewSession(), "SELECT k, c FROM u"); len(got) != 1 || got[0] != "1|5" {
		t.Fatalf("after restart: %v", got)
	}
}

// TestSmallChangesGoToTheLog: an UPDATE or DELETE of one row writes no
// segment but a small log entry; the next checkpoint replaces just the
// segments holding the changed rows, and everything survives a restart.
func TestSmallChangesGoToTheLog(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, memory.NewGoAllocator())
	s := db.NewSession()
	mustExec(t, s, "CREATE TABLE t (a int, b text)")
	// two statements, b NULL in the first one's batches only
	mustExec(t, s, "INSERT INTO t SELECT g, NULL FROM generate_series(1, 10000) g")
	mustExec(t, s, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(10001, 20000) g")
	mustExec(t, s, "CHECKPOINT")
	files := func() map[string]bool {
		m := map[string]bool{}
		filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				m[path] = true
			}
			return nil
		})
		return m
	}
	logSize := func() int64 { // where the log's entries end (zeros follow)
		raw, err := os.ReadFile(filepath.Join(dir, "wal.log"))
		if err != nil {
			t.Fatal(err)
		}
		lg, err := storage.ParseLogHeader(raw)
		if err == nil {
			err = lg.Scan(raw)
		}
		if err != nil {
			t.Fatal(err)
		}
		return lg.End
	}
	start := files()
	if len(start) < 100 {
		t.Fatalf("want many segments to start with, have %d", len(start))
	}
	for _, c := range []struct{ sql, tag, check, want string }{
		{"UPDATE t SET b = 'changed' WHERE a = 777", "UPDATE 1", "SELECT count(*) FROM t WHERE b = 'changed'", "1"},
		{"DELETE FROM t WHERE a = 12345", "DELETE 1", "SELECT count(*), sum(a) FROM t", "19999|199997655"},
		{"UPDATE t SET b = 'none' WHERE a < 0", "UPDATE 0", "SELECT count(*) FROM t WHERE b = 'none'", "0"},
	} {
		logBefore := logSize()
		res, err := s.Query(context.Background(), c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		res.Release()
		if res.Tag != c.tag {
			t.Errorf("%s: tag %q, want %q", c.sql, res.Tag, c.tag)
		}
		if got := files(); len(got) != len(start) {
			t.Errorf("%s: %d segment files, %d before", c.sql, len(got), len(start))
		}
		if grown := logSize() - logBefore; grown > 8<<10 {
			t.Errorf("%s: the log grew by %d bytes for one row", c.sql, grown)
		}
		if got := strings.Join(rows(t, s, c.check), ","); got != c.want {
			t.Errorf("%s: %s gives %s, want %s", c.sql, c.check, got, c.want)
		}
	}
	mustExec(t, s, "CHECKPOINT")
	after := files()
	added, removed := 0, 0
	for f := range after {
		if !start[f] {
			added++
		}
	}
	for f := range start {
		if !after[f] {
			removed++
		}
	}
	if added != 2 || removed != 2 {
		t.Errorf("the checkpoint added %d segments and removed %d of %d, want 2 and 2 (the two changed)", added, removed, len(start))
	}
	mustExec(t, s, "UPDATE t SET b = 'late' WHERE a = 5")
	s.Close()
	db.Close()
	db = openDir(t, dir, memory.NewGoAllocator())
	defer db.Close()
	if got := strings.Join(rows(t, db.NewSession(), "SELECT count(*), sum(a), count(*) FILTER (WHERE b IN ('changed', 'late')), count(b) FROM t"), ","); got != "19999|199997655|2|10001" {
		t.Errorf("after a restart: %s", got)
	}
}

// TestReadersSeeWholeStatements: while writers move amounts between rows
// (each UPDATE keeps the total) and append zero rows, every reader's query
// sees a total that is exactly right: a statement's snapshot never holds
// half of another statement's write.
func TestReadersSeeWholeStatements(t *testing.T) {
	db := openDir(t, t.TempDir(), memory.NewGoAllocator())
	defer db.Close()
	mustExec(t, db.NewSession(), "CREATE TABLE acct (id int, bal bigint); INSERT INTO acct SELECT g, 100 FROM generate_series(1, 10) g")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := db.NewSession()
			for i := 0; i < 100; i++ {
				from, to := 1+(i+w)%10, 1+(i+w+3)%10
				sql := fmt.Sprintf("UPDATE acct SET bal = bal + CASE id WHEN %d THEN -7 ELSE 7 END WHERE id IN (%d, %d)", from, from, to)
				if i%10 == 0 {
					sql = "INSERT INTO acct VALUES (0, 0)"
				}
				if _, err := s.Exec(context.Background(), sql); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := db.NewSession()
			for i := 0; i < 200; i++ {
				res, err := s.Query(context.Background(), "SELECT sum(bal) = 1000 FROM acct")
				if err != nil {
					errs <- err
					return
				}
				ok := weftexec.DatumAt(res.Batches[0].Column(0), 0) == true
				res.Release()
				if !ok {
					errs <- fmt.Errorf("a reader saw a total other than 1000")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := rows(t, db.NewSession(), "SELECT sum(bal), count(*) FROM acct"); got[0] != "1000|30" {
		t.Errorf("at the end: %v", got)
	}
}

// TestRolledBackDropSurvivesRestart drops and truncates tables inside
// blocks that roll back (one explicitly, one by the session closing) and
// finds the tables and their rows after a restart: nothing of the block
// (the DROP included) ever reaches the disk.
func TestRolledBackDropSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, `CREATE TABLE keep (a int); INSERT INTO keep SELECT g FROM generate_series(1, 300) g;
		CREATE TABLE trunc (a int); INSERT INTO trunc VALUES (1), (2)`)
	mustExec(t, s, "BEGIN; DROP TABLE keep; TRUNCATE trunc; CREATE TABLE keep (b text); ROLLBACK")
	s2 := db.NewSession()
	mustExec(t, s2, "BEGIN; DROP TABLE trunc")
	s2.Close() // a client that disconnects inside a block rolls back
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	for q, want := range map[string]string{
		"SELECT count(*), sum(a) FROM keep": "300|45150",
		"SELECT sum(a) FROM trunc":          "3",
	} {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
}

// TestUserTypesSurviveRestart keeps enums and domains, and columns of
// them, across a restart: the enum still orders by its labels, the domain
// still checks, and new types do not reuse the old OIDs.
func TestUserTypesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, `CREATE TYPE size AS ENUM ('small', 'medium', 'large');
		CREATE DOMAIN qty AS int CHECK (VALUE >= 0);
		CREATE TABLE items (name text PRIMARY KEY, sz size, n qty, doc jsonb, CHECK (length(name) < 5));
		INSERT INTO items VALUES ('a', 'large', 1, '{"x": 1}'), ('b', 'small', 2, '[]'), ('c', 'medium', 0, NULL);
		CREATE TABLE uses (item text REFERENCES items ON DELETE CASCADE); INSERT INTO uses VALUES ('a'), ('b')`)
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	for q, want := range map[string]string{
		"SELECT string_agg(name, ',' ORDER BY sz) FROM items":                    "b,c,a",
		"SELECT count(*) FROM items WHERE sz > 'small'":                          "2",
		"SELECT doc ->> 'x' FROM items WHERE sz = 'large'::size":                 "1",
		"SELECT format_type(atttypid, -1) FROM pg_attribute WHERE attname = 'n'": "qty",
	} {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	if _, err := s.Exec(context.Background(), "INSERT INTO items (name, n) VALUES ('z', -1)"); sqlerr.Code(err) != sqlerr.CheckViolation {
		t.Errorf("domain check after restart: %v", err)
	}
	if _, err := s.Exec(context.Background(), "INSERT INTO items (name) VALUES ('a')"); sqlerr.Code(err) != sqlerr.UniqueViolation {
		t.Errorf("primary key after restart: %v", err)
	}
	if _, err := s.Exec(context.Background(), "INSERT INTO items (name) VALUES ('toolong')"); sqlerr.Code(err) != sqlerr.CheckViolation {
		t.Errorf("check constraint after restart: %v", err)
	}
	if _, err := s.Exec(context.Background(), "INSERT INTO uses VALUES ('nope')"); sqlerr.Code(err) != sqlerr.ForeignKeyViolation {
		t.Errorf("foreign key after restart: %v", err)
	}
	mustExec(t, s, "DELETE FROM items WHERE name = 'a'")
	if got := rows(t, s, "SELECT string_agg(item, ',') FROM uses"); len(got) != 1 || got[0] != "b" {
		t.Errorf("cascade after restart: %v", got)
	}
	mustExec(t, s, "CREATE TYPE later AS ENUM ('x')")
	if got := rows(t, s, "SELECT count(DISTINCT oid), count(*) FROM pg_type WHERE oid >= 16384"); len(got) != 1 || strings.Split(got[0], "|")[0] != strings.Split(got[0], "|")[1] {
		t.Errorf("duplicate type OIDs after restart: %v", got)
	}
}

// TestSequencesSurviveCrash: a serial column's values are never handed
// out twice, even when the rows went to the write-ahead log and the data
// directory is what a crash left (the sequence stores its restart point
// ahead of the values it gives out).
func TestSequencesSurviveCrash(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, "CREATE TABLE ev (id bigserial PRIMARY KEY, note text); CREATE SEQUENCE unused")
	for i := 0; i < 40; i++ {
		mustExec(t, s, "INSERT INTO ev (note) VALUES ('x')")
	}
	image := t.TempDir()
	copyDir(t, dir, image) // as a crash would leave it
	db.Close()

	db = openDir(t, image, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	mustExec(t, s, "INSERT INTO ev (note) VALUES ('after')")
	got := rows(t, s, "SELECT count(*), count(DISTINCT id), min(id) FILTER (WHERE note = 'after') > 40 FROM ev")
	if len(got) != 1 || got[0] != "41|41|t" {
		t.Errorf("after the crash: %v", got)
	}
	if got := rows(t, s, "SELECT nextval('unused')"); len(got) != 1 || got[0] != "1" {
		t.Errorf("a never-used sequence starts at its start: %v", got)
	}
}
