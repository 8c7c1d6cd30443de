// Package difftest compares Weft with a real PostgreSQL: it makes random
// tables, fills them through many statements (NULLs in some batches and
// not in others), runs random queries on both and reports every answer
// that differs, shrunk to a small reproduction.
package difftest

import (
	"fmt"
	"math/rand"
	"strings"
)

// kind is the family of a SQL type, which decides what may be done with
// a value of it.
type kind int

const (
	kInt kind = iota
	kNum
	kFloat
	kText
	kBool
	kDate
	kTs
	kInterval
	kTsTz
	nKinds
)

type colType struct {
	sql string
	k   kind
	// lo, hi bound the integers a column of the type is given
	lo, hi int
}

var colTypes = []colType{
	{"smallint", kInt, -300, 300},
	{"integer", kInt, -1000, 1000},
	{"bigint", kInt, -100000, 100000},
	{"numeric(10,2)", kNum, 0, 0},
	{"double precision", kFloat, 0, 0},
	{"text", kText, 0, 0},
	{"varchar(12)", kText, 0, 0},
	{"char(4)", kText, 0, 0},
	{"boolean", kBool, 0, 0},
	{"date", kDate, 0, 0},
	{"timestamp", kTs, 0, 0},
	{"interval", kInterval, 0, 0},
	{"timestamptz", kTsTz, 0, 0},
}

type column struct {
	name string
	typ  colType
}

type table struct {
	name string
	cols []column
}

// schema is a set of tables and the statements that create and fill them.
type schema struct {
	zone    string // the session's TimeZone
	tables  []*table
	creates []string
	inserts []insert
}

// insert is one multi-row INSERT (one batch of a table), or a COPY of
// the same rows.
type insert struct {
	table string
	rows  []string
	copy  bool
}

// copyRows is the insert's rows as COPY's text fields (nil: NULL).
func (i insert) copyRows() [][]*string {
	var out [][]*string
	for _, row := range i.rows {
		var fields []*string
		for _, lit := range splitRow(row) {
			fields = append(fields, copyField(lit))
		}
		out = append(out, fields)
	}
	return out
}

// splitRow splits "(a, 'b, c', NULL)" into its literals.
func splitRow(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, "("), ")")
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\'':
			inQuote = !inQuote
		case row[i] == ',' && !inQuote:
			out = append(out, strings.TrimSpace(row[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(row[start:]))
}

// copyField turns a literal (NULL, 12, true, 'x”y', DATE '2024-01-02')
// into COPY's text for the same value.
func copyField(lit string) *string {
	if lit == "NULL" {
		return nil
	}
	if i := strings.IndexByte(lit, '\''); i >= 0 {
		lit = strings.ReplaceAll(lit[i+1:len(lit)-1], "''", "'")
	}
	return &lit
}

func (i insert) String() string {
	return fmt.Sprintf("INSERT INTO %s VALUES %s", i.table, strings.Join(i.rows, ", "))
}

// statements lists the SQL that makes the schema, in order.
func (s *schema) statements() []string {
	out := append([]string{"SET TimeZone = '" + s.zone + "'"}, s.creates...)
	for _, in := range s.inserts {
		if len(in.rows) > 0 {
			out = append(out, in.String())
		}
	}
	return out
}

// clone copies the statements (the tables are shared, never changed).
func (s *schema) clone() *schema {
	c := &schema{zone: s.zone, tables: s.tables, creates: s.creates}
	for _, in := range s.inserts {
		c.inserts = append(c.inserts, insert{table: in.table, rows: append([]string{}, in.rows...), copy: in.copy})
	}
	return c
}

var words = []string{"a", "b", "ab", "abc", "B", "x y", "", "zz", "a%", "Ab", "b ", "ñ", "10", "2"}

// zones are the session time zones a seed may run in (both engines).
var zones = []string{"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"}

// genSchema makes 1–3 tables, each with 2–5 columns, and the INSERTs that
// fill them: rows in batches of random sizes, each batch with its own
// chance of NULLs (often none).
func genSchema(r *rand.Rand) *schema {
	s := &schema{zone: zones[r.Intn(len(zones))]}
	nt := 1 + r.Intn(3)
	for i := 0; i < nt; i++ {
		t := &table{name: fmt.Sprintf("t%d", i)}
		nc := 2 + r.Intn(4)
		for j := 0; j < nc; j++ {
			ct := colTypes[r.Intn(len(colTypes))]
			// an integer and a text column in most tables, for joins and keys
			if j == 0 && r.Intn(3) > 0 {
				ct = colTypes[1]
			}
			if j == 1 && r.Intn(3) > 0 {
				ct = colTypes[5]
			}
			t.cols = append(t.cols, column{name: fmt.Sprintf("c%d", j), typ: ct})
		}
		s.tables = append(s.tables, t)
		var defs []string
		for _, c := range t.cols {
			defs = append(defs, c.name+" "+c.typ.sql)
		}
		s.creates = append(s.creates, fmt.Sprintf("CREATE TABLE %s (%s)", t.name, strings.Join(defs, ", ")))
		rows := r.Intn(40)
		for rows > 0 {
			n := 1 + r.Intn(min(rows, 12))
			rows -= n
			nullRate := 0
			if r.Intn(2) == 0 {
				nullRate = 1 + r.Intn(3) // 1 in 2..4
			}
			var vals []string
			for k := 0; k < n; k++ {
				var row []string
				for _, c := range t.cols {
					if nullRate > 0 && r.Intn(nullRate+1) == 0 {
						row = append(row, "NULL")
					} else {
						row = append(row, literal(r, c.typ))
					}
				}
				vals = append(vals, "("+strings.Join(row, ", ")+")")
			}
			s.inserts = append(s.inserts, insert{table: t.name, rows: vals, copy: r.Intn(4) == 0})
		}
	}
	return s
}

// literal is a random constant of a column type, written so that both
// engines read it as that type.
func literal(r *rand.Rand, ct colType) string {
	switch ct.k {
	case kInt:
		if r.Intn(4) == 0 {
			return fmt.Sprint(r.Intn(7) - 3)
		}
		return fmt.Sprint(ct.lo + r.Intn(ct.hi-ct.lo+1))
	case kNum:
		return fmt.Sprintf("%d.%02d", r.Intn(2000)-1000, r.Intn(100))
	case kFloat:
		return fmt.Sprintf("%d.%d", r.Intn(200)-100, r.Intn(4)*25)
	case kText:
		return quote(words[r.Intn(len(words))])
	case kBool:
		return []string{"true", "false"}[r.Intn(2)]
	case kDate:
		return fmt.Sprintf("DATE '2024-%02d-%02d'", 1+r.Intn(12), 1+r.Intn(28))
	case kTs:
		return fmt.Sprintf("TIMESTAMP '2024-%02d-%02d %02d:%02d:00'", 1+r.Intn(12), 1+r.Intn(28), r.Intn(24), r.Intn(4)*15)
	case kTsTz:
		// with an offset, or read in the session's zone (across its
		// daylight saving changes in March and October)
		zone := []string{"", "+00", "-05", "+05:30"}[r.Intn(4)]
		return fmt.Sprintf("TIMESTAMPTZ '2024-%02d-%02d %02d:%02d:00%s'", []int{1, 3, 3, 7, 10, 10, 12}[r.Intn(7)], 1+r.Intn(28), r.Intn(24), r.Intn(4)*15, zone)
	case kInterval:
		return []string{"INTERVAL '1 day'", "INTERVAL '2 hours'", "INTERVAL '3 mons 4 days'", "INTERVAL '-5 minutes'", "INTERVAL '1 year 2 days 00:00:05'", "INTERVAL '36 hours'"}[r.Intn(6)]
	}
	return "NULL"
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
