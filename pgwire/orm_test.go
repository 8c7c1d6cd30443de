package pgwire

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestLimitOffsetParameters: knex, GORM and sqlc page with `LIMIT $n
// OFFSET $m`, in every way pgx sends a statement.
func TestLimitOffsetParameters(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, sql := range []string{
		"CREATE TABLE items (id int PRIMARY KEY, name text)",
		"INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 40) g",
		"INSERT INTO items SELECT g, NULL FROM generate_series(41, 60) g",
	} {
		if _, err := setup.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	cases := []struct {
		sql  string
		args []any
		want string
	}{
		{"SELECT id FROM items ORDER BY id LIMIT $1 OFFSET $2", []any{3, 5}, "6,7,8"},
		{"SELECT id FROM items WHERE id > $1 ORDER BY id DESC LIMIT $2", []any{10, 2}, "60,59"},
		{"SELECT id FROM items ORDER BY id LIMIT $1::int + 1", []any{1}, "1,2"},
		{"SELECT id FROM items ORDER BY id OFFSET $1 LIMIT 2", []any{58}, "59,60"},
		{"SELECT id FROM items ORDER BY id LIMIT $1", []any{nil}, "count=60"}, // NULL: no limit
	}
	for _, mode := range modes {
		c := connect(t, url, mode)
		for _, tc := range cases {
			rows, err := c.Query(ctx, tc.sql, tc.args...)
			if err != nil {
				t.Fatalf("%v %s: %v", mode, tc.sql, err)
			}
			var got []string
			for rows.Next() {
				var id int
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprint(id))
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%v %s: %v", mode, tc.sql, err)
			}
			s := strings.Join(got, ",")
			if strings.HasPrefix(tc.want, "count=") {
				s = fmt.Sprintf("count=%d", len(got))
			}
			if s != tc.want {
				t.Fatalf("%v %s %v: got %s, want %s", mode, tc.sql, tc.args, s, tc.want)
			}
		}
		_, err := c.Exec(ctx, "SELECT id FROM items LIMIT $1", -1)
		if err == nil || !strings.Contains(err.Error(), "2201W") {
			t.Fatalf("%v: negative LIMIT parameter: %v, want 2201W", mode, err)
		}
	}
}

// TestTransactionIsolationSettings: SQLAlchemy's first statement on
// connect, and JDBC's getTransactionIsolation.
func TestTransactionIsolationSettings(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	show := func(sql string) string {
		var v string
		if err := c.QueryRow(ctx, sql).Scan(&v); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return v
	}
	if got := show("show transaction isolation level"); got != "read committed" {
		t.Fatalf("default: %s", got)
	}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	if got := show("SELECT current_setting('transaction_isolation') || ' ' || current_setting('transaction_read_only')"); got != "serializable on" {
		t.Fatalf("in a serializable read-only block: %s", got)
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE nope (a int)"); err == nil || !strings.Contains(err.Error(), "25006") {
		t.Fatalf("write in a read-only block: %v, want 25006", err)
	}
	tx.Rollback(ctx)
	if got := show("show transaction_isolation"); got != "read committed" {
		t.Fatalf("after the block: %s", got)
	}
}

// TestListenNotify: a listener gets notifications sent by other sessions
// while it is idle, those of a block only when it commits, and none of a
// block rolled back.
func TestListenNotify(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	listener := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	sender := connect(t, url, pgx.QueryExecModeExec)
	if _, err := listener.Exec(ctx, `LISTEN jobs`); err != nil {
		t.Fatal(err)
	}
	wait := func() (string, string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := listener.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("waiting for a notification: %v", err)
		}
		return n.Channel, n.Payload
	}
	if _, err := sender.Exec(ctx, `NOTIFY jobs, 'one'`); err != nil {
		t.Fatal(err)
	}
	if ch, p := wait(); ch != "jobs" || p != "one" {
		t.Fatalf("got %s %q", ch, p)
	}
	// a rolled-back block sends nothing; a committed one sends at COMMIT,
	// the same notification once
	for _, sql := range []string{
		`BEGIN`, `NOTIFY jobs, 'lost'`, `ROLLBACK`,
		`BEGIN`, `SELECT pg_notify('jobs', 'two')`, `NOTIFY jobs, 'two'`, `NOTIFY other, 'x'`, `COMMIT`,
		`SELECT pg_notify('jobs', 'three')`,
	} {
		if _, err := sender.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if _, p := wait(); p != "two" {
		t.Fatalf("after the committed block: %q", p)
	}
	if _, p := wait(); p != "three" {
		t.Fatalf("after pg_notify: %q", p)
	}
	// after UNLISTEN nothing more arrives; a statement of its own gets
	// what it notified itself before ReadyForQuery
	if _, err := listener.Exec(ctx, `UNLISTEN *; LISTEN self`); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Exec(ctx, `NOTIFY jobs, 'ignored'`); err != nil {
		t.Fatal(err)
	}
	if _, err := listener.Exec(ctx, `NOTIFY self, 'me'`); err != nil {
		t.Fatal(err)
	}
	if ch, p := wait(); ch != "self" || p != "me" {
		t.Fatalf("own notification: %s %q", ch, p)
	}
	if _, err := sender.Exec(ctx, `NOTIFY "", 'x'`); err == nil {
		t.Fatal("an empty channel name was accepted")
	}
}
