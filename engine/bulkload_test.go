package engine

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// openStaging opens dir/data with small batches and a small staging
// threshold, so that a COPY of a few thousand rows stages many times.
func openStaging(t *testing.T, dir string) (*DB, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := Open(Options{DataDir: filepath.Join(dir, "data"), FilesDir: dir, Mem: mem, Partitions: 2, BatchSize: 100, LoadStageBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return db, mem
}

func closeChecked(t *testing.T, db *DB, mem *memory.CheckedAllocator) {
	t.Helper()
	db.Close()
	mem.AssertSize(t, 0)
}

// writeLoadFile writes n rows "k|v|note" (keys from first): v is NULL in
// rows 250–349 only, so some staged batches have NULLs and others none;
// bad, when positive, is a row number whose key is not an integer.
func writeLoadFile(t *testing.T, path string, first, n, bad int) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		k := strconv.Itoa(first + i)
		if i == bad {
			k = "x" + k
		}
		v := strconv.Itoa(i * 3)
		if i >= 250 && i < 350 {
			v = `\N`
		}
		fmt.Fprintf(&b, "%s|%s|note %d\n", k, v, i%7)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tableFiles counts the files in the table's directory under data/.
func tableFiles(t *testing.T, db *DB, dir, name string) int {
	t.Helper()
	tbl, _, ok := db.cat.Lookup("public", name, nil)
	if !ok || tbl == nil {
		t.Fatalf("no table %s", name)
	}
	files, err := os.ReadDir(filepath.Join(dir, "data", "data", strconv.Itoa(int(tbl.OID))))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(files)
}

// TestStagedCopyReadsBackEveryRow: a COPY far past the staging threshold
// writes its batches to segment files as it goes; every row reads back
// (with the NULLs of the batches that had them), none stays on the heap,
// the primary key index is the one the load built (a lookup reads one
// segment), a duplicate is refused, and a reopen finds it all. A second
// COPY into the now full table checks its keys against the rows there.
func TestStagedCopyReadsBackEveryRow(t *testing.T) {
	dir := t.TempDir()
	writeLoadFile(t, filepath.Join(dir, "a.txt"), 1, 5000, -1)
	writeLoadFile(t, filepath.Join(dir, "b.txt"), 5001, 3000, -1)
	writeLoadFile(t, filepath.Join(dir, "dup.txt"), 7000, 2000, -1) // 7000..8000 are there
	db, mem := openStaging(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE big (k int PRIMARY KEY, v bigint, note text)")
	mustSQL(t, s, "CREATE INDEX big_note ON big (note)")
	mustSQL(t, s, "COPY big FROM 'a.txt' (DELIMITER '|')")
	if n := db.store.StagedFiles(); n != 0 {
		t.Errorf("after the COPY, %d staged files are not the catalog's", n)
	}
	if n := heapBatches(t, db, "big"); n != 0 {
		t.Errorf("after a staged COPY, %d batches of big are on the heap", n)
	}
	// v = 3i except for i in 250..349: 3*(0+…+4999) - 3*(250+…+349) =
	// 37492500 - 89850; 714 of i < 5000 are 3 mod 7
	const whole = "5000|12502500|4900|37402650|714"
	check := func(when string) {
		t.Helper()
		if got := one(t, s, "SELECT count(*), sum(k), count(v), sum(v), count(*) FILTER (WHERE note = 'note 3') FROM big WHERE k <= 5000"); got != whole {
			t.Errorf("%s: big holds %s, want %s", when, got, whole)
		}
	}
	check("after COPY")
	before := db.store.SegmentReads()
	if got := one(t, s, "SELECT v, note FROM big WHERE k = 4321"); got != "12960|note 1" {
		t.Errorf("lookup: %q", got)
	}
	if read := db.store.SegmentReads() - before; read > 1 {
		t.Errorf("a lookup by key after COPY read %d segments, want at most 1", read)
	}
	// statistics from the load's sample (all 5000 rows here): exact
	wantStats := "rows 5000; k 5000/0.00; v 4900/0.02; note 7/0.00"
	statsOf := func() string {
		tbl, _, _ := db.cat.Lookup("public", "big", nil)
		st := tbl.CachedStats()
		if st == nil {
			return "none"
		}
		out := fmt.Sprintf("rows %d", st.Rows)
		for i, c := range st.Columns {
			out += fmt.Sprintf("; %s %.0f/%.2f", tbl.Columns[i].Name, c.Distinct, c.NullFrac)
		}
		return out
	}
	if got := statsOf(); got != wantStats {
		t.Errorf("statistics after COPY: %s, want %s", got, wantStats)
	}
	if got := one(t, s, "SELECT count(*), min(k), max(k) FROM big WHERE v IS NULL"); got != "100|251|350" {
		t.Errorf("NULL rows: %q", got)
	}
	if err := execSQL(t, s, "INSERT INTO big VALUES (17, 0, 'dup')"); sqlerr.Code(err) != sqlerr.UniqueViolation {
		t.Errorf("duplicate key after COPY: got %v, want %s", err, sqlerr.UniqueViolation)
	}
	// into a table with rows: its keys are checked against them
	mustSQL(t, s, "COPY big FROM 'b.txt' (DELIMITER '|')")
	if got := one(t, s, "SELECT count(*), count(DISTINCT k), max(k), count(v) FROM big"); got != "8000|8000|8000|7800" {
		t.Errorf("after the second COPY: %s", got)
	}
	err := execSQL(t, s, "COPY big FROM 'dup.txt' (DELIMITER '|')")
	if sqlerr.Code(err) != sqlerr.UniqueViolation {
		t.Errorf("COPY of keys already there: got %v, want %s", err, sqlerr.UniqueViolation)
	}
	if got := one(t, s, "SELECT count(*) FROM big"); got != "8000" {
		t.Errorf("after a refused COPY: %s rows", got)
	}
	closeChecked(t, db, mem)

	db, mem = openStaging(t, dir)
	s = db.NewSession()
	check("after reopening")
	if got := one(t, s, "SELECT count(*), count(v), sum(k) FROM big"); got != "8000|7800|32004000" {
		t.Errorf("after reopening: %s", got)
	}
	if got := one(t, s, "SELECT note FROM big WHERE k = 7777"); got != "note 4" {
		t.Errorf("lookup after reopening: %q", got)
	}
	closeChecked(t, db, mem)
}

// TestStagedCopyFailureLeavesNothing: a COPY that fails after staging
// several times (a bad value, a duplicate key within the load) leaves the
// table as it was, its directory with no file the load wrote, and a
// reopen finds the table as it was.
func TestStagedCopyFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	writeLoadFile(t, filepath.Join(dir, "bad.txt"), 100, 3000, 2500)
	writeLoadFile(t, filepath.Join(dir, "dupself.txt"), 100, 3000, -1)
	writeLoadFile(t, filepath.Join(dir, "dupself2.txt"), 1000, 3000, -1)
	db, mem := openStaging(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE t (k int PRIMARY KEY, v bigint, note text)")
	mustSQL(t, s, "CREATE TABLE e (k int PRIMARY KEY, v bigint, note text)")
	mustSQL(t, s, "INSERT INTO t VALUES (1, 10, 'one'), (2, NULL, 'two')")
	mustSQL(t, s, "CHECKPOINT")
	filesT, filesE := tableFiles(t, db, dir, "t"), tableFiles(t, db, dir, "e")
	cases := []struct {
		table, file string
		code        string
	}{
		{"t", "bad.txt", sqlerr.InvalidText},
		{"e", "bad.txt", sqlerr.InvalidText},
		// two files whose keys overlap
		{"e", "dupself*.txt", sqlerr.UniqueViolation},
	}
	for _, c := range cases {
		err := execSQL(t, s, fmt.Sprintf("COPY %s FROM '%s' (DELIMITER '|')", c.table, c.file))
		if sqlerr.Code(err) != c.code {
			t.Errorf("COPY %s FROM %s: got %v, want %s", c.table, c.file, err, c.code)
		}
		if n := db.store.StagedFiles(); n != 0 {
			t.Errorf("COPY %s FROM %s: %d staged files left", c.table, c.file, n)
		}
	}
	if got, want := tableFiles(t, db, dir, "t"), filesT; got != want {
		t.Errorf("t's directory has %d files after the failed COPY, %d before", got, want)
	}
	if got, want := tableFiles(t, db, dir, "e"), filesE; got != want {
		t.Errorf("e's directory has %d files after the failed COPYs, %d before", got, want)
	}
	const tRows, eRows = "2|3|1", "0|NULL|NULL"
	if got := one(t, s, "SELECT count(*), sum(k), count(v) FROM t"); got != tRows {
		t.Errorf("t after the failed COPY: %s, want %s", got, tRows)
	}
	if got := one(t, s, "SELECT count(*), sum(k), max(note) FROM e"); got != eRows {
		t.Errorf("e after the failed COPYs: %s, want %s", got, eRows)
	}
	closeChecked(t, db, mem)
	db, mem = openStaging(t, dir)
	s = db.NewSession()
	if got := one(t, s, "SELECT count(*), sum(k), count(v) FROM t"); got != tRows {
		t.Errorf("t after reopening: %s, want %s", got, tRows)
	}
	if got := one(t, s, "SELECT count(*), sum(k), max(note) FROM e"); got != eRows {
		t.Errorf("e after reopening: %s, want %s", got, eRows)
	}
	// the tables still take a load
	mustSQL(t, s, "COPY e FROM 'dupself.txt' (DELIMITER '|')")
	if got := one(t, s, "SELECT count(*), count(v) FROM e"); got != "3000|2900" {
		t.Errorf("e after a good COPY: %s", got)
	}
	closeChecked(t, db, mem)
}

// TestCrashMidCopy kills a process that loads batches by COPY (each
// staged many times over) with SIGKILL at random moments, and checks
// after each restart that every acknowledged COPY is there whole, at
// most one more (committed, not yet acknowledged), and nothing of one
// that was cut off; a load then still works.
func TestCrashMidCopy(t *testing.T) {
	if dir := os.Getenv("WEFT_COPY_CRASH_WRITER"); dir != "" {
		copyCrashWriter(dir)
		return
	}
	const perCopy = 4000
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < perCopy; i++ {
		fmt.Fprintf(&b, "%d|row %d of a batch loaded by COPY\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "rows.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	db, mem := openStaging(t, dir)
	mustSQL(t, db.NewSession(), "CREATE TABLE loads (batch bigint, i int, pad text)")
	closeChecked(t, db, mem)
	acked := int64(0)
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashMidCopy$")
		cmd.Env = append(os.Environ(), "WEFT_COPY_CRASH_WRITER="+dir, fmt.Sprintf("WEFT_COPY_CRASH_FROM=%d", acked+1))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var ackedNow atomic.Int64
		ackedNow.Store(acked)
		var writerErr atomic.Value
		firstAck, done := make(chan struct{}), make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			seen := false
			for sc.Scan() {
				n, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "ack "), 10, 64)
				if err != nil {
					writerErr.Store(sc.Text())
					continue
				}
				ackedNow.Store(n)
				if !seen {
					seen = true
					close(firstAck)
				}
			}
			close(done)
		}()
		select {
		case <-firstAck:
		case <-time.After(20 * time.Second):
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()
		if e := writerErr.Load(); e != nil {
			t.Fatalf("round %d: the writer said %v", round, e)
		}
		acked = ackedNow.Load()

		db, mem := openStaging(t, dir)
		s := db.NewSession()
		got := strings.Split(one(t, s, "SELECT count(DISTINCT batch), coalesce(max(batch), 0), count(*), count(DISTINCT i) FROM loads"), "|")
		batches, maxBatch, total := parseInt(got[0]), parseInt(got[1]), parseInt(got[2])
		if maxBatch < acked || maxBatch > acked+1 || batches != maxBatch || total != batches*perCopy {
			t.Fatalf("round %d: acknowledged %d COPYs, found batches=%d max=%d rows=%d", round, acked, batches, maxBatch, total)
		}
		t.Logf("round %d: %d COPYs in, %d files in the table's directory", round, maxBatch, tableFiles(t, db, dir, "loads"))
		acked = maxBatch
		closeChecked(t, db, mem)
	}
	if acked == 0 {
		t.Fatal("no COPY was acknowledged in any round")
	}
}

// copyCrashWriter loads rows.txt again and again, each COPY tagged with
// its number through the column's default, printing "ack N" after each.
func copyCrashWriter(dir string) {
	db, err := Open(Options{DataDir: filepath.Join(dir, "data"), FilesDir: dir, Partitions: 2, BatchSize: 100, LoadStageBytes: 4 << 10})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	s := db.NewSession()
	from, _ := strconv.ParseInt(os.Getenv("WEFT_COPY_CRASH_FROM"), 10, 64)
	for n := from; ; n++ {
		sql := fmt.Sprintf("ALTER TABLE loads ALTER COLUMN batch SET DEFAULT %d; COPY loads (i, pad) FROM 'rows.txt' (DELIMITER '|')", n)
		rs, err := s.Exec(context.Background(), sql)
		for _, r := range rs {
			r.Release()
		}
		if err != nil {
			fmt.Println("copy:", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d\n", n)
	}
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// TestLoadSampleIsUniform: the load's reservoir keeps StatsSampleRows
// distinct rows drawn evenly from all it was shown (every tenth of the
// rows gives about a tenth of the sample).
func TestLoadSampleIsUniform(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const total, batch = 300000, 1000
	var ls loadSample
	for start := 0; start < total; start += batch {
		b := array.NewInt64Builder(mem)
		for i := start; i < start+batch; i++ {
			b.Append(int64(i))
		}
		col := b.NewArray()
		b.Release()
		rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, batch)
		col.Release()
		ls.add(rec)
		rec.Release()
	}
	if len(ls.rows) != sampleRows || ls.seen != total {
		t.Fatalf("sample of %d rows after %d, want %d after %d", len(ls.rows), ls.seen, sampleRows, total)
	}
	seen := map[int64]bool{}
	var tenths [10]int
	for _, r := range ls.rows {
		v := r[0].(int64)
		if seen[v] {
			t.Fatalf("row %d sampled twice", v)
		}
		seen[v] = true
		tenths[v*10/total]++
	}
	for i, n := range tenths {
		// 3000 expected, binomial standard deviation about 52
		if n < 2700 || n > 3300 {
			t.Errorf("tenth %d of the rows gave %d sampled rows, want about %d (all: %v)", i, n, sampleRows/10, tenths)
		}
	}
}

// TestStagedInsertSelect: an INSERT … SELECT past the staging threshold
// is staged like a COPY (every row reads back, none on the heap, its key
// index built from the load), one that fails after staging (a division
// by zero late in the query, a duplicate key) leaves the table as it was
// with no staged file, and a small INSERT still goes through the log.
func TestStagedInsertSelect(t *testing.T) {
	dir := t.TempDir()
	db, mem := openStaging(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE src (k int PRIMARY KEY, v bigint, note text)")
	mustSQL(t, s, "INSERT INTO src SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g * 2 END, 'n' || (g % 5) FROM generate_series(1, 6000) g")
	mustSQL(t, s, "CREATE TABLE dst (k int PRIMARY KEY, v bigint, note text)")
	files := tableFiles(t, db, dir, "dst")
	for _, c := range []struct{ sql, code string }{
		{"INSERT INTO dst SELECT k, v / (k - 4999), note FROM src ORDER BY k", sqlerr.DivisionByZero},
		{"INSERT INTO dst SELECT k % 5500, v, note FROM src", sqlerr.UniqueViolation},
	} {
		if err := execSQL(t, s, c.sql); err == nil || sqlerr.Code(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.sql, err, c.code)
		}
		if n := db.store.StagedFiles(); n != 0 {
			t.Errorf("%s: %d staged files left", c.sql, n)
		}
		if got := tableFiles(t, db, dir, "dst"); got != files {
			t.Errorf("%s: dst's directory has %d files, %d before", c.sql, got, files)
		}
		if got := one(t, s, "SELECT count(*) FROM dst"); got != "0" {
			t.Errorf("%s: dst has %s rows after it failed", c.sql, got)
		}
	}
	mustSQL(t, s, "INSERT INTO dst SELECT * FROM src")
	if n := heapBatches(t, db, "dst"); n != 0 {
		t.Errorf("after a staged INSERT … SELECT, %d batches of dst are on the heap", n)
	}
	// 1..6000: sum 18003000; v = 2k but for the 600 multiples of ten,
	// 2 * (18003000 - 1803000)
	const want = "6000|18003000|5400|32400000|1200"
	if got := one(t, s, "SELECT count(*), sum(k), count(v), sum(v), count(*) FILTER (WHERE note = 'n3') FROM dst"); got != want {
		t.Errorf("dst holds %s, want %s", got, want)
	}
	before := db.store.SegmentReads()
	if got := one(t, s, "SELECT v, note FROM dst WHERE k = 4321"); got != "8642|n1" {
		t.Errorf("lookup: %q", got)
	}
	if read := db.store.SegmentReads() - before; read > 1 {
		t.Errorf("a lookup by key read %d segments, want at most 1", read)
	}
	// CREATE TABLE AS: staged the same way; one whose query fails late
	// leaves no table and no file
	if err := execSQL(t, s, "CREATE TABLE ctas_bad AS SELECT k, v / (k - 4999) AS q FROM src ORDER BY k"); err == nil || sqlerr.Code(err) != sqlerr.DivisionByZero {
		t.Errorf("CREATE TABLE AS with a division by zero: got %v, want %s", err, sqlerr.DivisionByZero)
	}
	if n := db.store.StagedFiles(); n != 0 {
		t.Errorf("after a failed CREATE TABLE AS, %d staged files left", n)
	}
	if got := one(t, s, "SELECT count(*) FROM pg_class WHERE relname = 'ctas_bad'"); got != "0" {
		t.Errorf("a failed CREATE TABLE AS left its table")
	}
	mustSQL(t, s, "CREATE TABLE ctas AS SELECT k, v, note FROM src")
	if n := heapBatches(t, db, "ctas"); n != 0 {
		t.Errorf("after a staged CREATE TABLE AS, %d batches are on the heap", n)
	}
	if got := one(t, s, "SELECT count(*), sum(k), count(v), sum(v), count(*) FILTER (WHERE note = 'n3') FROM ctas"); got != want {
		t.Errorf("ctas holds %s, want %s", got, want)
	}
	mustSQL(t, s, "INSERT INTO dst VALUES (6001, 1, 'small')")
	if heapBatches(t, db, "dst") == 0 {
		t.Errorf("a one-row INSERT was stored by a checkpoint, not the log")
	}
	closeChecked(t, db, mem)
	db, mem = openStaging(t, dir)
	s = db.NewSession()
	if got := one(t, s, "SELECT count(*), sum(k) - 6001, count(v), sum(v) - 1 FROM dst"); got != "6001|18003000|5401|32400000" {
		t.Errorf("after reopening, dst holds %s", got)
	}
	if got := one(t, s, "SELECT count(*), sum(k), count(v), sum(v), count(*) FILTER (WHERE note = 'n3') FROM ctas"); got != "6000|18003000|5400|32400000|1200" {
		t.Errorf("after reopening, ctas holds %s", got)
	}
	closeChecked(t, db, mem)
}
