package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/weftdb/weft/sql/sqlerr"
)

// TestConcurrentCommitsAllDurable: eight sessions commit blocks and
// single statements at once, so their log entries share flushes (group
// commit); every commit acknowledged is there after a crash, and each
// block's two tables agree.
func TestConcurrentCommitsAllDurable(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, `CREATE TABLE acct (id int PRIMARY KEY, bal bigint); INSERT INTO acct SELECT g, 1000 FROM generate_series(1, 8) g;
		CREATE TABLE moves (who int, amount bigint); CREATE TABLE notes (who int, n int); CHECKPOINT`)
	s.Close()
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 1; w <= workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ws := db.NewSession()
			defer ws.Close()
			for i := 0; i < rounds; i++ {
				block := fmt.Sprintf("BEGIN; UPDATE acct SET bal = bal - 3 WHERE id = %d; INSERT INTO moves VALUES (%d, 3); COMMIT", w, w)
				for {
					err := execSQL(t, ws, block)
					if err != nil && sqlerr.Code(err) == sqlerr.SerializationFailure {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
				if err := execSQL(t, ws, fmt.Sprintf("INSERT INTO notes VALUES (%d, %d)", w, i)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	crash(t, db, mem)
	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	want := fmt.Sprintf("%d|%d|%d|%d", 8000-3*workers*rounds, workers*rounds, 3*workers*rounds, workers*rounds)
	if got := one(t, s, "SELECT (SELECT sum(bal) FROM acct), (SELECT count(*) FROM moves), (SELECT sum(amount) FROM moves), (SELECT count(*) FROM notes)"); got != want {
		t.Errorf("after a crash: %s, want %s", got, want)
	}
	for w := 1; w <= workers; w++ {
		if got := one(t, s, fmt.Sprintf("SELECT bal, (SELECT count(*) FROM moves WHERE who = %d) FROM acct WHERE id = %d", w, w)); got != fmt.Sprintf("%d|%d", 1000-3*rounds, rounds) {
			t.Errorf("account %d after a crash: %s", w, got)
		}
	}
	s.Close()
	closeClean(t, db, mem)
}

// BenchmarkGroupCommitTPCB runs pgbench's TPC-B transaction (per branch
// ten tellers and 10,000 accounts; one branch, where every transaction
// updates the same row, and ten) from eight sessions at once on a durable
// database and reports how many log entries each sync made durable
// (entries/sync; above 1 when commits share fsyncs) and the transactions
// per second.
func BenchmarkGroupCommitTPCB(b *testing.B) {
	for _, branches := range []int{1, 10} {
		b.Run(fmt.Sprintf("branches=%d", branches), func(b *testing.B) { benchTPCB(b, branches, 10000) })
	}
}

// BenchmarkGroupCommitTPCBScale10 is BenchmarkGroupCommitTPCB at pgbench's
// scale 10 (100,000 accounts a branch, each with pgbench's 84-character
// filler): batches as full as pgbench -i leaves them, so the cost of an
// UPDATE that grows with its batch shows.
func BenchmarkGroupCommitTPCBScale10(b *testing.B) { benchTPCB(b, 10, 100000) }

// benchTPCB runs the transactions over branches branches of
// accountsPerBranch accounts.
func benchTPCB(b *testing.B, branches, accountsPerBranch int) {
	mem := memory.NewGoAllocator()
	db, err := Open(Options{DataDir: b.TempDir(), Mem: mem})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	for _, sql := range []string{
		"CREATE TABLE branches (bid int PRIMARY KEY, bbalance int)",
		"CREATE TABLE tellers (tid int PRIMARY KEY, bid int, tbalance int)",
		"CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
		"CREATE TABLE history (tid int, bid int, aid int, delta int, mtime timestamp)",
		fmt.Sprintf("INSERT INTO branches SELECT g, 0 FROM generate_series(1, %d) g", branches),
		fmt.Sprintf("INSERT INTO tellers SELECT g, (g - 1) / 10 + 1, 0 FROM generate_series(1, %d) g", 10*branches),
		fmt.Sprintf("INSERT INTO accounts SELECT g, (g - 1) / %[1]d + 1, 0, '' FROM generate_series(1, %[2]d) g", accountsPerBranch, accountsPerBranch*branches),
		"CHECKPOINT",
	} {
		if err := execBench(s, sql); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	const clients = 8
	var next atomic.Int64
	entries0, syncs0 := db.store.LogSyncs()
	compared0 := db.store.LogComparedRows()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := db.NewSession()
			defer cs.Close()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for next.Add(1) <= int64(b.N) {
				bid := 1 + rng.IntN(branches)
				aid, tid, delta := 1+rng.IntN(accountsPerBranch*branches), 1+rng.IntN(10*branches), rng.IntN(10001)-5000
				block := fmt.Sprintf(`BEGIN; UPDATE accounts SET abalance = abalance + %[3]d WHERE aid = %[1]d;
					SELECT abalance FROM accounts WHERE aid = %[1]d;
					UPDATE tellers SET tbalance = tbalance + %[3]d WHERE tid = %[2]d;
					UPDATE branches SET bbalance = bbalance + %[3]d WHERE bid = %[4]d;
					INSERT INTO history VALUES (%[2]d, %[4]d, %[1]d, %[3]d, now()); END`, aid, tid, delta, bid)
				if err := execBench(cs, block); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	entries, syncs := db.store.LogSyncs()
	if syncs > syncs0 {
		b.ReportMetric(float64(entries-entries0)/float64(syncs-syncs0), "entries/sync")
	}
	// rows the log compared with the batches replacing them, to find the
	// edits of batches whose writes did not say how they were made
	b.ReportMetric(float64(db.store.LogComparedRows()-compared0)/float64(b.N), "compared-rows/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tps")
}

// execBench runs sql and lets go of its results.
func execBench(s *Session, sql string) error {
	rs, err := s.Exec(context.Background(), sql)
	for _, r := range rs {
		r.Release()
	}
	return err
}
