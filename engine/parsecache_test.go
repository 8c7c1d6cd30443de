package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestParseCacheAnswers: queries sent as text with other integer
// constants reuse the parse tree of the first (sql/parser's Cache);
// each answers as it does in a fresh session, where it is parsed anew,
// however many of its shape ran before it.
func TestParseCacheAnswers(t *testing.T) {
	setup := []string{
		"CREATE TABLE pc (id int PRIMARY KEY, g int, v text)",
		"INSERT INTO pc SELECT i, i % 7, 'v' || i FROM generate_series(1, 200) i",
	}
	shapes := []string{
		"SELECT v FROM pc WHERE id = %d",
		"SELECT g, count(*) FROM pc WHERE id < %d GROUP BY 1 ORDER BY 1",
		"SELECT id, g, v FROM pc ORDER BY %d, 1 LIMIT 3",
		"SELECT id, v FROM pc WHERE id BETWEEN %d AND 150 ORDER BY 2 DESC LIMIT 4 OFFSET 1",
		"SELECT g, sum(id) FROM pc WHERE id > %d GROUP BY ROLLUP (g) ORDER BY 1, 2",
		"SELECT (SELECT max(id) FROM pc WHERE g = %d), (ARRAY[1, 2, 3])[2]",
		"SELECT CAST(%d AS varchar(3))",
		"SELECT count(*) FROM pc WHERE id IN (%d, 5, 9)",
	}
	long := openSessions(t, 1)[0]
	for _, sql := range setup {
		mustExec(t, long, sql)
	}
	for _, shape := range shapes {
		for _, n := range []int{3, 1, 2, 3, 1} {
			sql := fmt.Sprintf(shape, n)
			got := rows(t, long, sql)
			fresh := openSessions(t, 1)[0]
			for _, s := range setup {
				mustExec(t, fresh, s)
			}
			if want := rows(t, fresh, sql); !slices.Equal(got, want) {
				t.Errorf("%s: %v, a fresh session says %v", sql, got, want)
			}
		}
	}
}

// TestParseCacheDataChanges: pgbench's transactions (negative constants
// included) through one session's parse cache change the rows as each
// transaction run in a session of its own does, and an error in a cached
// shape carries the position a fresh parse gives it.
func TestParseCacheDataChanges(t *testing.T) {
	setup := []string{
		"CREATE TABLE acc (aid int PRIMARY KEY, bal int)",
		"INSERT INTO acc SELECT i, 0 FROM generate_series(1, 20) i",
		"CREATE TABLE hist (aid int, delta int)",
	}
	// transactions as pgbench sends them, one statement at a time; one
	// rolled back
	var txns [][]string
	want := map[int]int{}
	for i, delta := range []int{-1234, 4321, -5, -6, 7, -1000, -2147000000, 2147400000, -77} {
		aid := 1 + i%3*7 // 1, 8, 15: one or two digits, so shapes repeat and differ
		end := "END;"
		if delta == -77 {
			end = "ROLLBACK;"
		} else {
			want[aid] += delta
		}
		txns = append(txns, []string{"BEGIN;",
			fmt.Sprintf("UPDATE acc SET bal = bal + %d WHERE aid = %d;", delta, aid),
			fmt.Sprintf("INSERT INTO hist (aid, delta) VALUES (%d, %d);", aid, delta),
			end})
	}
	txns = append(txns, []string{"DELETE FROM hist WHERE delta = -5;"}, []string{"DELETE FROM hist WHERE delta = -6;"})
	state := func(s *engine.Session) []string {
		return append(rows(t, s, "SELECT aid, bal FROM acc WHERE bal <> 0 ORDER BY 1"),
			rows(t, s, "SELECT aid, delta FROM hist ORDER BY 1, 2")...)
	}

	cached := openSessions(t, 1)[0]
	other := openSessions(t, 1+len(txns)) // a session per transaction
	for _, sql := range setup {
		mustExec(t, cached, sql)
		mustExec(t, other[0], sql)
	}
	for i, txn := range txns {
		for _, sql := range txn {
			mustExec(t, cached, sql)
			mustExec(t, other[1+i], sql)
		}
	}
	got, alone := state(cached), state(other[0])
	if !slices.Equal(got, alone) {
		t.Errorf("through the cache %v, a session per transaction %v", got, alone)
	}
	var wantBal []string
	for _, aid := range []int{1, 8, 15} {
		if want[aid] != 0 {
			wantBal = append(wantBal, fmt.Sprintf("%d|%d", aid, want[aid]))
		}
	}
	if !slices.Equal(got[:len(wantBal)], wantBal) {
		t.Errorf("balances %v, want %v", got[:len(wantBal)], wantBal)
	}

	for i, sql := range []string{"UPDATE acc SET bal = bal + -12 WHERE nosuch = 3;", "UPDATE acc SET bal = bal + -45 WHERE nosuch = 6;"} {
		_, err := cached.Exec(context.Background(), sql)
		_, wantErr := other[1+i].Exec(context.Background(), sql) // a session that never saw the shape
		if err == nil || wantErr == nil || err.Error() != wantErr.Error() || errPosition(err) != errPosition(wantErr) || errPosition(err) == 0 {
			t.Errorf("%s: error %v (position %d), a fresh parse gives %v (position %d)", sql, err, errPosition(err), wantErr, errPosition(wantErr))
		}
	}
}

func errPosition(err error) int {
	var e *sqlerr.Error
	if errors.As(err, &e) {
		return e.Position
	}
	return -1
}
