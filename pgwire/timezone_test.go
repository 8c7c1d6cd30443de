package pgwire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/pgsource/pgtest"
)

// timestamptzOID is PostgreSQL's type oid of timestamptz.
const timestamptzOID = 1184

// TestTimeZoneOnTheWire compares Weft with a real PostgreSQL on what a
// client sees of the session time zone: the TimeZone start-up parameter,
// ParameterStatus after each SET, timestamptz results in text (in the
// zone) and binary (UTC microseconds), and text parameters read in the
// zone.
func TestTimeZoneOnTheWire(t *testing.T) {
	pgURL := pgtest.Start(t)
	weftURL := startServer(t)
	ctx := context.Background()
	open := func(url string) *pgconn.PgConn {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["TimeZone"] = "America/New_York" // as pgjdbc sends the JVM's zone
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(cctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c.PgConn()
	}
	pg, wf := open(pgURL), open(weftURL)

	// what one connection shows for one step, to compare between servers
	type view struct {
		status          string
		text            string
		binary          []byte
		paramText       string
		paramBinary     []byte
		simpleText      string
		simpleArrayText string
	}
	observe := func(c *pgconn.PgConn) view {
		var v view
		v.status = c.ParameterStatus("TimeZone")
		const lit = "SELECT '2024-07-01 12:00:00+00'::timestamptz, ARRAY['1850-01-01 00:00+00'::timestamptz]"
		res := c.ExecParams(ctx, lit, nil, nil, nil, []int16{0, 0}).Read()
		if res.Err != nil {
			t.Fatalf("%s: %v", lit, res.Err)
		}
		v.text = string(res.Rows[0][0]) + " " + string(res.Rows[0][1])
		res = c.ExecParams(ctx, "SELECT '2024-07-01 12:00:00+00'::timestamptz", nil, nil, nil, []int16{1}).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		v.binary = res.Rows[0][0]
		// a text parameter without an offset is read in the session zone
		param := [][]byte{[]byte("2024-03-31 02:30")}
		res = c.ExecParams(ctx, "SELECT $1::timestamptz", param, []uint32{timestamptzOID}, []int16{0}, []int16{0}).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		v.paramText = string(res.Rows[0][0])
		res = c.ExecParams(ctx, "SELECT $1::timestamptz", param, []uint32{timestamptzOID}, []int16{0}, []int16{1}).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		v.paramBinary = res.Rows[0][0]
		rs, err := c.Exec(ctx, "SELECT '2024-10-27 02:30'::timestamptz::text, to_char('2024-10-27 00:30+00'::timestamptz, 'HH24:MI OF')").ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		v.simpleText = string(rs[0].Rows[0][0])
		v.simpleArrayText = string(rs[0].Rows[0][1])
		return v
	}
	steps := []string{
		"", // the start-up parameter
		"SET TIME ZONE 'Europe/Paris'",
		"SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE",
		"SET TIME ZONE -3",
		"SET TimeZone = 'UTC+3'",
		"SET TimeZone = 'asia/kolkata'",
		"RESET TimeZone",
		"SET TIME ZONE 'Asia/Tokyo'",
		"SET TIME ZONE LOCAL",
	}
	for _, step := range steps {
		if step != "" {
			for _, c := range []*pgconn.PgConn{pg, wf} {
				if _, err := c.Exec(ctx, step).ReadAll(); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
		}
		want, got := observe(pg), observe(wf)
		if fmt.Sprintf("%q", want) != fmt.Sprintf("%q", got) {
			t.Errorf("after %q:\nPostgreSQL %q\nWeft       %q", step, want, got)
		}
	}
	// RESET returns to the start-up parameter, not the server's default
	if got := wf.ParameterStatus("TimeZone"); got != "America/New_York" {
		t.Errorf("after RESET Weft reports TimeZone %q", got)
	}

	// COPY reads text and CSV in the session zone and writes in it
	copyOut := func(c *pgconn.PgConn) string {
		run := func(sql string) {
			if _, err := c.Exec(ctx, sql).ReadAll(); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		run("CREATE TABLE tzcopy (id int, tz timestamptz)")
		run("SET TimeZone = 'Europe/Paris'")
		if _, err := c.CopyFrom(ctx, strings.NewReader("1\t2024-03-31 02:30\n2\t2024-07-01 12:00+00\n3\t\\N\n"), "COPY tzcopy FROM STDIN"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CopyFrom(ctx, strings.NewReader("4,2024-10-27 02:30\n5,\n"), "COPY tzcopy FROM STDIN WITH (FORMAT csv)"); err != nil {
			t.Fatal(err)
		}
		run("SET TimeZone = 'America/St_Johns'")
		var out strings.Builder
		for _, format := range []string{"text", "csv"} {
			if _, err := c.CopyTo(ctx, &out, "COPY (SELECT * FROM tzcopy ORDER BY id) TO STDOUT WITH (FORMAT "+format+")"); err != nil {
				t.Fatal(err)
			}
		}
		return out.String()
	}
	if want, got := copyOut(pg), copyOut(wf); want != got {
		t.Errorf("COPY in a time zone:\nPostgreSQL %q\nWeft       %q", want, got)
	}

	// SET through the extended protocol is reported too, and ROLLBACK's
	// and COMMIT's restored values (SET LOCAL ends at COMMIT)
	for _, c := range []*pgconn.PgConn{pg, wf} {
		var seen []string
		note := func() { seen = append(seen, c.ParameterStatus("TimeZone")) }
		if res := c.ExecParams(ctx, "SET TIME ZONE 'Asia/Tokyo'", nil, nil, nil, nil).Read(); res.Err != nil {
			t.Fatal(res.Err)
		}
		note()
		for _, sql := range []string{
			"BEGIN; SET TIME ZONE 'Europe/Paris'",
			"ROLLBACK",
			"BEGIN; SET LOCAL TIME ZONE 'America/New_York'",
			"COMMIT",
			"BEGIN; SET TIME ZONE 'Europe/Paris'; SAVEPOINT a; SET TIME ZONE 'UTC'",
			"ROLLBACK TO a",
			"COMMIT",
		} {
			if _, err := c.Exec(ctx, sql).ReadAll(); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			note()
		}
		want := "[Asia/Tokyo Europe/Paris Asia/Tokyo America/New_York Asia/Tokyo UTC Europe/Paris Europe/Paris]"
		if fmt.Sprint(seen) != want {
			t.Errorf("TimeZone reported %v, want %s", seen, want)
		}
	}

	// a refused zone leaves the setting and tells the client nothing new
	for _, c := range []*pgconn.PgConn{pg, wf} {
		c.Exec(ctx, "SET TimeZone = 'Europe/Paris'").ReadAll()
		_, err := c.Exec(ctx, "SET TimeZone = 'Mars/Base'").ReadAll()
		var pgErr *pgconn.PgError
		if !asPgError(err, &pgErr) || pgErr.Code != "22023" || pgErr.Message != `invalid value for parameter "TimeZone": "Mars/Base"` {
			t.Errorf("SET TimeZone = 'Mars/Base': %v", err)
		}
		if got := c.ParameterStatus("TimeZone"); got != "Europe/Paris" {
			t.Errorf("after a refused SET: TimeZone %q", got)
		}
	}
}

func asPgError(err error, target **pgconn.PgError) bool {
	e, ok := err.(*pgconn.PgError)
	if ok {
		*target = e
	}
	return ok
}

// TestStartupTimeZone checks the start-up forms PostgreSQL accepts for
// TimeZone (a parameter, or -c in options) and that a bad zone refuses
// the connection with 22023, as PostgreSQL does.
func TestStartupTimeZone(t *testing.T) {
	pgURL := pgtest.Start(t)
	weftURL := startServer(t)
	ctx := context.Background()
	connectWith := func(url string, params map[string]string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range params {
			cfg.RuntimeParams[k] = v
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return pgx.ConnectConfig(cctx, cfg)
	}
	for _, params := range []map[string]string{
		{"TimeZone": "Asia/Kolkata"},
		{"options": "-c TimeZone=America/St_Johns"},
		{"options": "--timezone=UTC+3 -c application_name=two\\ words"},
		{"options": "-c TimeZone=Europe/Paris", "TimeZone": "Asia/Tokyo"},
	} {
		var views []string
		for _, url := range []string{pgURL, weftURL} {
			c, err := connectWith(url, params)
			if err != nil {
				t.Fatalf("%v: %v", params, err)
			}
			var zone, app, text string
			if err := c.QueryRow(ctx, "SELECT current_setting('TimeZone'), current_setting('application_name'), '2024-07-01 12:00:00+00'::timestamptz::text").Scan(&zone, &app, &text); err != nil {
				t.Fatal(err)
			}
			// RESET returns to the start-up value
			if _, err := c.Exec(ctx, "SET TimeZone = 'UTC'; RESET TimeZone"); err != nil {
				t.Fatal(err)
			}
			var reset string
			if err := c.QueryRow(ctx, "SHOW TimeZone").Scan(&reset); err != nil {
				t.Fatal(err)
			}
			views = append(views, fmt.Sprintf("%s|%s|%s|%s|%s", c.PgConn().ParameterStatus("TimeZone"), zone, app, text, reset))
			c.Close(ctx)
		}
		if views[0] != views[1] {
			t.Errorf("%v:\nPostgreSQL %s\nWeft       %s", params, views[0], views[1])
		}
	}
	for _, url := range []string{pgURL, weftURL} {
		_, err := connectWith(url, map[string]string{"TimeZone": "Mars/Base"})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "22023" || pgErr.Severity != "FATAL" {
			t.Errorf("TimeZone=Mars/Base: %v", err)
		}
	}
}
