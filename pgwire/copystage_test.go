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
	// binary COPY (pgx's CopyFrom), also read as it comes
	rows := make([][]any, 4000)
	for i := range rows {
		rows[i] = []any{int32(10001 + i), fmt.Sprintf("bin %d", i%4)}
		if i%100 == 0 {
			rows[i][1] = nil
		}
	}
	copied, err := c.CopyFrom(ctx, pgx.Identifier{"s"}, []string{"k", "v"}, pgx.CopyFromRows(rows))
	if err != nil || copied != 4000 {
		t.Fatalf("binary COPY: %d %v", copied, err)
	}
	var nulls, bin1 int64
	if err := c.QueryRow(ctx, "SELECT count(*), sum(k), count(*) FILTER (WHERE v IS NULL), count(*) FILTER (WHERE v = 'bin 1') FROM s").Scan(&n, &sum, &nulls, &bin1); err != nil {
		t.Fatal(err)
	}
	// 10001..14000 sum to 48002000; 40 NULLs; i%4 == 1 for 1000 rows
	if n != 9000 || sum != 5000*5001/2+48002000 || nulls != 40 || bin1 != 1000 {
		t.Errorf("after the binary COPY: %d rows, sum %d, %d NULL, %d 'bin 1'", n, sum, nulls, bin1)
	}
}

// TestBinaryCopyDamage: binary COPY data cut short or malformed anywhere
// is 22P04 (nothing stored), and the connection goes on.
func TestBinaryCopyDamage(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeCacheStatement)
	if _, err := c.Exec(ctx, "CREATE TABLE b (k int, v text)"); err != nil {
		t.Fatal(err)
	}
	const head = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"
	const row = "\x00\x02" + "\x00\x00\x00\x04\x00\x00\x00\x07" + "\x00\x00\x00\x02hi"
	cases := []struct{ name, data string }{
		{"no signature", "PGCOPY\n"},
		{"header extension cut", "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x08abc"},
		{"tuple cut", head + row + "\x00"},
		{"field count", head + "\x00\x03"},
		{"field length cut", head + "\x00\x02\x00\x00"},
		{"field data cut", head + row + "\x00\x02" + "\x00\x00\x00\x04\x00\x00"},
		{"negative length", head + "\x00\x02" + "\xff\xff\xff\xfe"},
	}
	pc := c.PgConn()
	for _, tc := range cases {
		_, err := pc.CopyFrom(ctx, strings.NewReader(tc.data), "COPY b FROM STDIN (FORMAT binary)")
		if err == nil || !strings.Contains(err.Error(), "22P04") {
			t.Errorf("%s: got %v, want 22P04", tc.name, err)
		}
	}
	tag, err := pc.CopyFrom(ctx, strings.NewReader(head+row+row+"\xff\xff"), "COPY b FROM STDIN (FORMAT binary)")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("good binary COPY: %v %v", tag, err)
	}
	var n, sum int64
	if err := c.QueryRow(ctx, "SELECT count(*), sum(k) FROM b WHERE v = 'hi'").Scan(&n, &sum); err != nil || n != 2 || sum != 14 {
		t.Errorf("b holds %d rows summing to %d (%v), want 2 and 14", n, sum, err)
	}
}
