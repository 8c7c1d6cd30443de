package pgwire

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/engine"
)

// TestCopyFromStdinStaged: COPY FROM STDIN into a stored table, far past
// the staging threshold, is read as it comes and staged to disk; every
// row arrives, a bad row after several stages fails the COPY leaving the
// table as it was (and no stray file), and the connection goes on.
func TestCopyFromStdinStaged(t *testing.T) {
	dir := t.TempDir()
	url := startServerOpts(t, engine.Options{DataDir: dir, Partitions: 2, BatchSize: 100, LoadStageBytes: 4 << 10})
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeCacheStatement)
	if _, err := c.Exec(ctx, "CREATE TABLE s (k int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	var good, bad strings.Builder
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&good, "%d,value %d\n", i, i%10)
		k := fmt.Sprint(i + 5000)
		if i == 4000 {
			k = "oops"
		}
		fmt.Fprintf(&bad, "%s,value %d\n", k, i%10)
	}
	pc := c.PgConn()
	tag, err := pc.CopyFrom(ctx, strings.NewReader(good.String()), "COPY s FROM STDIN WITH (FORMAT csv)")
	if err != nil || tag.String() != "COPY 5000" {
		t.Fatalf("COPY: %v %v", tag, err)
	}
	files := func() int {
		var n int
		filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	before := files()
	if _, err := pc.CopyFrom(ctx, strings.NewReader(bad.String()), "COPY s FROM STDIN WITH (FORMAT csv)"); err == nil || !strings.Contains(err.Error(), "22P02") {
		t.Fatalf("COPY with a bad row: %v, want 22P02", err)
	}
	if after := files(); after != before {
		t.Errorf("the failed COPY left %d files where there were %d", after, before)
	}
	var n, sum, tens int64
	if err := c.QueryRow(ctx, "SELECT count(*), sum(k), count(*) FILTER (WHERE v = 'value 0') FROM s").Scan(&n, &sum, &tens); err != nil {
		t.Fatal(err)
	}
	if n != 5000 || sum != 5000*5001/2 || tens != 500 {
		t.Errorf("s holds %d rows, sum %d, %d of 'value 0'; want 5000, %d, 500", n, sum, tens, 5000*5001/2)
	}
}
