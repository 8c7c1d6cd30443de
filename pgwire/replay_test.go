package pgwire

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// clientsDir holds what real clients sent to PostgreSQL 15 (../shared).
const clientsDir = "../../shared/clients"

// replayFloor is how many records of each capture must replay with the
// real server's command tags and result column types. It only ever goes
// up: raise it when support improves. Everything below it is a known gap,
// listed by TestReplayClientCaptures -v.
var replayFloor = map[string]int{
	"pgx.sql":                           32,
	"pgx-modes.sql":                     17,
	"lib-pq.sql":                        19,
	"psycopg2.sql":                      32,
	"node-postgres.sql":                 19,
	"pgjdbc.sql":                        45,
	"psql.sql":                          32,
	"pgjdbc-assumeMinServerVersion.sql": 43,
	"psql-tty.sql":                      1,
	"lib-pq-default-sslmode.sql":        0,
	"types-lib-pq.sql":                  1,
	"types-node-postgres.sql":           2,
	"types-pgjdbc.sql":                  15,
	"types-pgx.sql":                     3,
	"types-psql.sql":                    1,
	"types-psycopg2.sql":                2,
}

// record is one captured statement execution.
type record struct {
	line     int
	extended bool
	sql      string
	params   []string
	// paramOIDs are the types the client declared in Parse
	paramOIDs []uint32
	pformats  []int16
	rformats  []int16
	colOIDs   []uint32
	tag       string
}

var (
	reBind    = regexp.MustCompile(`^-- bind params: (\[.*\]) param_formats=\[([0-9, ]*)\] result_formats=\[([0-9, ]*)\]`)
	reColumns = regexp.MustCompile(`^-- result columns: (.*)$`)
	reColumn  = regexp.MustCompile(`:(\d+)(?:\(|\[|,|$)`)
	reTags    = regexp.MustCompile(`tags=\[([^\]]*)\]`)
)

var reParamOID = regexp.MustCompile(`\b(\d+)\(`)

func parseCapture(text string) []record {
	var out []record
	line := 1
	for _, chunk := range strings.Split(text, "\n-- next\n") {
		r := record{line: line}
		var sqlLines []string
		for _, l := range strings.Split(chunk, "\n") {
			switch {
			case strings.HasPrefix(l, "-- conn="):
				r.extended = strings.Contains(l, "proto=extended")
			case strings.HasPrefix(l, "-- parse param oids:"):
				for _, m := range reParamOID.FindAllStringSubmatch(l, -1) {
					oid, _ := strconv.Atoi(m[1])
					r.paramOIDs = append(r.paramOIDs, uint32(oid))
				}
			case reBind.MatchString(l):
				m := reBind.FindStringSubmatch(l)
				json.Unmarshal([]byte(m[1]), &r.params)
				r.pformats, r.rformats = ints(m[2]), ints(m[3])
			case reColumns.MatchString(l):
				for _, m := range reColumn.FindAllStringSubmatch(reColumns.FindStringSubmatch(l)[1], -1) {
					oid, _ := strconv.Atoi(m[1])
					r.colOIDs = append(r.colOIDs, uint32(oid))
				}
			case strings.HasPrefix(l, "-- result:"):
				if m := reTags.FindStringSubmatch(l); m != nil {
					tags := strings.Split(m[1], ", ")
					r.tag = strings.Trim(tags[len(tags)-1], "'")
				}
			case strings.HasPrefix(l, "--"):
			default:
				sqlLines = append(sqlLines, l)
			}
		}
		line += strings.Count(chunk, "\n") + 2
		r.sql = strings.TrimSpace(strings.Join(sqlLines, "\n"))
		if r.sql != "" || r.tag != "" {
			out = append(out, r)
		}
	}
	return out
}

func ints(s string) []int16 {
	var out []int16
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			n, _ := strconv.Atoi(f)
			out = append(out, int16(n))
		}
	}
	return out
}

// replay runs one record and says why it differs from the capture.
func replay(ctx context.Context, c *pgconn.PgConn, r record) error {
	var results []*pgconn.Result
	if lower := strings.ToLower(r.sql); strings.HasPrefix(lower, "copy") {
		// the captured rows are not in the capture: send none
		var tag pgconn.CommandTag
		var err error
		if strings.Contains(lower, "from stdin") {
			data := ""
			if strings.Contains(lower, "binary") {
				data = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00\x00\x00\x00\x00" + "\xff\xff"
			}
			tag, err = c.CopyFrom(ctx, strings.NewReader(data), r.sql)
		} else {
			tag, err = c.CopyTo(ctx, io.Discard, r.sql)
		}
		if err != nil {
			return err
		}
		if tagVerb(tag.String()) != tagVerb(r.tag) {
			return fmt.Errorf("tag %q, want %q", tag, r.tag)
		}
		return nil
	}
	if r.extended {
		params := make([][]byte, len(r.params))
		for i, p := range r.params {
			if strings.HasPrefix(p, `\x`) && i < len(r.pformats) && r.pformats[i] == 1 || (len(r.pformats) == 1 && r.pformats[0] == 1 && strings.HasPrefix(p, `\x`)) {
				b, err := hex.DecodeString(p[2:])
				if err != nil {
					return err
				}
				params[i] = b
			} else {
				params[i] = []byte(p)
			}
		}
		res := c.ExecParams(ctx, r.sql, params, r.paramOIDs, r.pformats, r.rformats).Read()
		results = []*pgconn.Result{res}
	} else {
		var err error
		results, err = c.Exec(ctx, r.sql).ReadAll()
		if err != nil && r.tag != "" && !strings.HasPrefix(r.tag, "<") {
			return err
		}
	}
	if len(results) == 0 {
		if r.tag == "" || strings.HasPrefix(r.tag, "<") {
			return nil // the real server failed too
		}
		return fmt.Errorf("no result")
	}
	last := results[len(results)-1]
	if last.Err != nil {
		if r.tag == "" || strings.HasPrefix(r.tag, "<") {
			return nil // the real server failed too, or sent no tag
		}
		return last.Err
	}
	// Row counts depend on the captured database's data, which is not part
	// of the capture: compare the command, not the count.
	if r.tag != "" && !strings.HasPrefix(r.tag, "<") && tagVerb(last.CommandTag.String()) != tagVerb(r.tag) {
		return fmt.Errorf("tag %q, want %q", last.CommandTag.String(), r.tag)
	}
	// (pgconn reports no field descriptions for an extended result without
	// rows; the data behind the capture is not ours, so counts differ)
	if r.colOIDs != nil && len(last.FieldDescriptions) > 0 {
		var got, want []uint32
		for _, f := range last.FieldDescriptions {
			got = append(got, userOID(f.DataTypeOID))
		}
		for _, o := range r.colOIDs {
			want = append(want, userOID(o))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("column types %v, want %v", got, r.colOIDs)
		}
	}
	return nil
}

// TestReplayClientCaptures replays what pgx, lib/pq, psycopg2 and
// node-postgres sent to PostgreSQL 15 and compares command tags and result
// column types with the real server's.
func TestReplayClientCaptures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(clientsDir, "*.sql"))
	if len(files) == 0 {
		t.Skip("no ../shared/clients captures beside the project")
	}
	sort.Strings(files)
	for _, path := range files {
		name := filepath.Base(path)
		floor, ok := replayFloor[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			url := startServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := pgconn.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			schema := `CREATE TABLE items (id bigint, name text, price float8, added date, ts timestamp);
				CREATE TABLE orders (id bigint, item_id bigint, qty integer);
				INSERT INTO items VALUES (1, 'apple', 0.5, '2024-01-02', '2024-01-02 10:00:00'), (2, 'banana', 0.25, '2024-02-03', '2024-02-03 11:00:00'), (3, 'cherry', 3.75, '2024-03-04', '2024-03-04 12:00:00');
				INSERT INTO orders VALUES (100, 1, 2), (101, 2, 5);
				CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
				CREATE DOMAIN posint AS int CHECK (VALUE > 0)`
			if _, err := c.Exec(ctx, schema).ReadAll(); err != nil {
				t.Fatal(err)
			}
			text, _ := os.ReadFile(path)
			recs := parseCapture(string(text))
			passed := 0
			for _, r := range recs {
				if err := replay(ctx, c, r); err != nil {
					t.Logf("line %d: %s\n    %v", r.line, firstLine(r.sql), err)
					if c.IsClosed() {
						if c, err = pgconn.Connect(ctx, url); err != nil {
							t.Fatal(err)
						}
						defer c.Close(ctx)
					}
					c.Exec(ctx, "ROLLBACK").ReadAll()
					continue
				}
				passed++
			}
			t.Logf("%s: %d of %d records replay like PostgreSQL 15", name, passed, len(recs))
			if passed < floor {
				t.Errorf("%s: %d records replayed, fewer than the %d already reached", name, passed, floor)
			}
		})
	}
}

// userOID maps the OIDs of user-defined types, which each server numbers
// its own way, to one value.
func userOID(oid uint32) uint32 {
	if oid >= 16384 {
		return 16384
	}
	return oid
}

// tagVerb drops the row count from a command tag ("INSERT 0 3" → "INSERT 0").
func tagVerb(tag string) string {
	if i := strings.LastIndexByte(tag, ' '); i > 0 {
		if _, err := strconv.Atoi(tag[i+1:]); err == nil {
			return tag[:i]
		}
	}
	return tag
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 90 {
		s = s[:90] + "…"
	}
	return s
}
