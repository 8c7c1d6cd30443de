package engine

import (
	"fmt"
	"sync"
	"testing"

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
