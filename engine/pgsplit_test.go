package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/pgsource/pgtest"
)

// TestClusterSplitsPostgresScan (real worker processes, a throwaway
// PostgreSQL): a postgres_scan's page ranges run on two workers, each
// reading PostgreSQL under the snapshot the coordinator exported, and
// every answer is PostgreSQL's own.
func TestClusterSplitsPostgresScan(t *testing.T) {
	conn := pgtest.Start(t)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	for _, sql := range []string{
		"CREATE TABLE src (id int, grp int, label text)",
		"INSERT INTO src SELECT g, g % 13, CASE WHEN g % 7 = 0 THEN NULL ELSE 'label ' || g END FROM generate_series(1, 60000) g",
		"ANALYZE src",
		"CREATE TABLE names (grp int, name text)",
		"INSERT INTO names SELECT g, 'n' || g FROM generate_series(0, 12) g",
	} {
		if _, err := pg.Exec(ctx, sql); err != nil {
			t.Fatalf("postgres: %s: %v", sql, err)
		}
	}
	scan := fmt.Sprintf("postgres_scan('%s', 'public.src')", conn)
	queries := []struct{ weft, postgres string }{
		{"SELECT count(*), sum(id), count(DISTINCT id), count(label) FROM " + scan, "SELECT count(*), sum(id), count(DISTINCT id), count(label) FROM src"},
		{"SELECT grp, count(*), sum(id), min(label), max(id) FROM " + scan + " GROUP BY grp ORDER BY grp", "SELECT grp, count(*), sum(id), min(label), max(id) FROM src GROUP BY grp ORDER BY grp"},
		{"SELECT id, label FROM " + scan + " WHERE id % 1009 = 5 ORDER BY id", "SELECT id, label FROM src WHERE id % 1009 = 5 ORDER BY id"},
		{"SELECT n.name, count(*) FROM " + scan + " s JOIN names n ON s.grp = n.grp WHERE s.id > 30000 GROUP BY n.name ORDER BY n.name",
			"SELECT n.name, count(*) FROM src s JOIN names n ON s.grp = n.grp WHERE s.id > 30000 GROUP BY n.name ORDER BY n.name"},
	}
	dir := t.TempDir()
	s := openCoordinator(t, dir, 5*time.Second)
	mustExec(t, s, "CREATE TABLE names (grp int, name text)")
	mustExec(t, s, "INSERT INTO names SELECT g, 'n' || g FROM generate_series(0, 12) g")
	w1, w2 := startWorker(t, dir), startWorker(t, dir)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	waitWorkersUp(t, s, w1, w2)
	for _, q := range queries {
		sameRows(t, q.weft, rows(t, s, q.weft), pgRows(t, pg, q.postgres))
	}
	plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+queries[0].weft), "\n")
	for _, want := range []string{"RemoteScan postgres public.src (ranges: 4)", "local=0", "0@" + w1.addr, "1@" + w2.addr} {
		if !strings.Contains(plan, want) {
			t.Errorf("the postgres scan's ranges should run on the workers (%q):\n%s", want, plan)
		}
	}
	if got := fragmentsRun(t, s); got == "0" {
		t.Errorf("the workers ran no fragment")
	}
}
