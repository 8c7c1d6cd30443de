package pgwire

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestIndexLookupsWithParameters runs lookups whose keys are parameters
// of prepared statements (pgx's default mode prepares and caches each
// statement, so the same statement runs with several values): each must
// use the index and answer as a scan does.
func TestIndexLookupsWithParameters(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, sql := range []string{
		"CREATE TABLE acc (id bigint PRIMARY KEY, owner text, bal int)",
		"CREATE INDEX acc_owner ON acc (owner)",
		"INSERT INTO acc SELECT g, 'o' || (g % 500), g FROM generate_series(1, 5000) g",
	} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	render := func(sql string, args ...any) []string {
		t.Helper()
		rs, err := c.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s %v: %v", sql, args, err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			vals, err := rs.Values()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		if err := rs.Err(); err != nil {
			t.Fatalf("%s %v: %v", sql, args, err)
		}
		return out
	}
	lookups := []struct {
		sql       string
		index     string
		paramType string
		args      [][]any
	}{
		{"SELECT id, owner, bal FROM acc WHERE id = $1", "acc_pkey", "bigint", [][]any{{int64(7)}, {int64(4999)}, {int64(0)}, {nil}}},
		{"SELECT id, bal FROM acc WHERE id BETWEEN $1 AND $2", "acc_pkey", "bigint", [][]any{{int64(10), int64(15)}, {int64(4990), int64(6000)}, {int64(20), int64(10)}}},
		{"SELECT id FROM acc WHERE owner = $1", "acc_owner", "text", [][]any{{"o7"}, {"o499"}, {"nobody"}}},
		{"SELECT id FROM acc WHERE id > $1 ORDER BY id LIMIT 3", "acc_pkey", "bigint", [][]any{{int64(100)}, {int64(4998)}}},
	}
	for _, l := range lookups {
		for _, args := range l.args {
			// (EXPLAIN takes its parameters as text: cast them as the
			// statement's own would be typed)
			textArgs := make([]any, len(args))
			for i, a := range args {
				if a != nil {
					textArgs[i] = fmt.Sprint(a)
				}
			}
			explain := l.sql
			for i := len(args); i >= 1; i-- {
				explain = strings.ReplaceAll(explain, fmt.Sprintf("$%d", i), fmt.Sprintf("$%d::%s", i, l.paramType))
			}
			plan := strings.Join(render("EXPLAIN "+explain, textArgs...), "\n")
			if !strings.Contains(plan, "Index Scan using "+l.index) {
				t.Errorf("%s %v: plan without %s:\n%s", l.sql, args, l.index, plan)
			}
			got := render(l.sql, args...)
			if _, err := c.Exec(ctx, "SET enable_indexscan = off"); err != nil {
				t.Fatal(err)
			}
			want := render(l.sql, args...)
			if _, err := c.Exec(ctx, "SET enable_indexscan = on"); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(l.sql, "ORDER BY") {
				slices.Sort(got)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %v: index gives %v, scan %v", l.sql, args, got, want)
			}
		}
	}
	// writes by key through parameters
	for i := int64(1); i <= 20; i++ {
		if _, err := c.Exec(ctx, "UPDATE acc SET bal = bal + $2 WHERE id = $1", i, int64(1000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Exec(ctx, "DELETE FROM acc WHERE id = $1", int64(3)); err != nil {
		t.Fatal(err)
	}
	if got := render("SELECT id, bal FROM acc WHERE id BETWEEN $1 AND $2", int64(1), int64(4)); !slices.Equal(got, []string{"1 1001", "2 1002", "4 1004"}) {
		t.Errorf("after the writes: %v", got)
	}
	if _, err := c.Exec(ctx, "UPDATE acc SET id = $1 WHERE id = $2", int64(5), int64(6)); err == nil || !strings.Contains(err.Error(), "23505") {
		t.Errorf("moving a key onto another: %v, want 23505", err)
	}
}
