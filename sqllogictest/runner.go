// Package sqllogictest runs sqllogictest files (SQLite's format, plus the
// `statement error <pattern>` / `query error <pattern>` extensions used by
// DuckDB and DataFusion) against Weft.
package sqllogictest

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// EngineName is the name skipif/onlyif use for Weft.
const EngineName = "weft"

// Runner runs files. Open creates a fresh database for each file.
type Runner struct {
	Open    func() (*weft.DB, error)
	Verbose bool
	Out     io.Writer
	// Timeout bounds each statement (0: none).
	Timeout time.Duration
	// Setup runs before each file, e.g. to SET compatibility options.
	Setup string
	// Shape rewrites how statements that succeed write their rows.
	Shape WriteShape
	// Reopen makes a "reopen" record close the database and open it
	// again (with Open, in a new session): for a database in a data
	// directory, the tables are then read back from storage. Without it
	// (an in-memory database would lose everything) "reopen" does
	// nothing.
	Reopen bool
}

// Result counts the outcome of a file.
type Result struct {
	Passed, Failed, Skipped int
}

type record struct {
	kind     string // statement, query
	line     int
	sql      string
	expectOK bool
	errMatch string
	types    string
	sortMode string
	expected []string
}

// newSession opens a session on db and runs Setup in it.
func (r *Runner) newSession(db *weft.DB) (*weft.Session, error) {
	sess := db.NewSession()
	if r.Setup != "" {
		rs, err := sess.Exec(context.Background(), r.Setup)
		for _, x := range rs {
			x.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// RunFile runs one file and prints failures (with -v, in detail).
func (r *Runner) RunFile(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	db, err := r.Open()
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	sess, err := r.newSession(db)
	if err != nil {
		return Result{}, err
	}
	var res Result
	hashThreshold := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	lineNo := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		lineNo++
		return sc.Text(), true
	}
	skip := false
	for {
		line, ok := next()
		if !ok {
			break
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		fields := strings.Fields(trimmed)
		switch fields[0] {
		case "hash-threshold":
			if len(fields) > 1 {
				hashThreshold, _ = strconv.Atoi(fields[1])
			}
			continue
		case "halt":
			if !skip {
				return res, nil
			}
			skip = false
			continue
		case "skipif":
			if len(fields) > 1 && (fields[1] == EngineName || fields[1] == "postgresql") {
				skip = true
			}
			continue
		case "onlyif":
			if len(fields) > 1 && fields[1] != EngineName && fields[1] != "postgresql" {
				skip = true
			}
			continue
		case "reopen":
			if !skip && r.Reopen {
				sess.Close()
				db.Close()
				if db, err = r.Open(); err != nil {
					db = nil
					return res, fmt.Errorf("line %d: reopen: %w", lineNo, err)
				}
				if sess, err = r.newSession(db); err != nil {
					return res, err
				}
			}
			skip = false
			continue
		case "statement", "query":
		default:
			continue
		}
		rec := record{kind: fields[0], line: lineNo}
		if rec.kind == "statement" {
			rec.expectOK = len(fields) > 1 && fields[1] == "ok"
			if len(fields) > 2 && fields[1] == "error" {
				rec.errMatch = strings.Join(fields[2:], " ")
			}
		} else {
			if len(fields) > 1 && fields[1] == "error" {
				rec.errMatch = strings.Join(fields[2:], " ")
			} else {
				rec.expectOK = true
				if len(fields) > 1 {
					rec.types = fields[1]
				}
				rec.sortMode = "nosort"
				if len(fields) > 2 {
					rec.sortMode = fields[2]
				}
			}
		}
		var sqlLines []string
		inResults := false
		for {
			l, ok := next()
			if !ok || strings.TrimSpace(l) == "" && !(inResults && false) {
				break
			}
			if rec.kind == "query" && l == "----" {
				inResults = true
				continue
			}
			if inResults {
				rec.expected = append(rec.expected, l)
			} else {
				sqlLines = append(sqlLines, l)
			}
		}
		rec.sql = strings.Join(sqlLines, "\n")
		if skip {
			skip = false
			res.Skipped++
			continue
		}
		if msg := r.runRecord(sess, rec, hashThreshold); msg != "" {
			res.Failed++
			if r.Verbose {
				fmt.Fprintf(r.Out, "FAIL %s:%d\n%s\n%s\n\n", path, rec.line, rec.sql, msg)
			}
		} else {
			res.Passed++
		}
	}
	return res, sc.Err()
}

func (r *Runner) runRecord(sess *weft.Session, rec record, hashThreshold int) string {
	ctx := context.Background()
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	if rec.kind == "statement" && rec.expectOK {
		return r.runShaped(ctx, sess, rec.sql)
	}
	results, err := sess.Exec(ctx, rec.sql)
	defer func() {
		for _, res := range results {
			res.Release()
		}
	}()
	if err != nil {
		if rec.expectOK {
			return "unexpected error: " + sqlerr.Format(err)
		}
		if rec.errMatch != "" && !errorMatches(err, rec.errMatch) {
			return fmt.Sprintf("error %q does not match %q", sqlerr.Format(err), rec.errMatch)
		}
		return ""
	}
	if !rec.expectOK {
		return "statement succeeded but an error was expected"
	}
	if rec.kind == "statement" {
		return ""
	}
	if len(results) == 0 {
		return "query returned no result"
	}
	res := results[len(results)-1]
	vals, ncols := formatResult(res, rec.types)
	if rec.types != "" && len(rec.types) != ncols {
		return fmt.Sprintf("expected %d columns, got %d", len(rec.types), ncols)
	}
	vals = sortValues(vals, ncols, rec.sortMode)
	if len(rec.expected) == 1 && strings.Contains(rec.expected[0], "values hashing to") {
		parts := strings.Fields(rec.expected[0])
		want, _ := strconv.Atoi(parts[0])
		got := hashValues(vals)
		if len(vals) != want || got != parts[len(parts)-1] {
			return fmt.Sprintf("expected %s\ngot %d values hashing to %s", rec.expected[0], len(vals), got)
		}
		return ""
	}
	// One value per line (SQLite's layout) when the counts agree; otherwise
	// one row per line with tab- or space-separated values.
	expected := rec.expected
	if len(expected) != len(vals) {
		expected = flatten(rec.expected, ncols)
	}
	if hashThreshold > 0 && len(vals) > hashThreshold && len(expected) != len(vals) {
		return fmt.Sprintf("expected %d values, got %d values hashing to %s", len(expected), len(vals), hashValues(vals))
	}
	if len(vals) != len(expected) && len(rec.expected) != len(vals) {
		// SQLite's reference output puts each space-separated word of a
		// text value on its own line.
		if strings.Join(strings.Fields(strings.Join(vals, " ")), " ") == strings.Join(strings.Fields(strings.Join(rec.expected, " ")), " ") {
			return ""
		}
		return fmt.Sprintf("expected:\n%s\ngot:\n%s", strings.Join(expected, "\n"), strings.Join(vals, "\n"))
	}
	for i := range vals {
		if vals[i] != expected[i] {
			return fmt.Sprintf("expected:\n%s\ngot:\n%s", strings.Join(expected, "\n"), strings.Join(vals, "\n"))
		}
	}
	return ""
}

// runShaped runs a statement expected to succeed as its write shape says.
func (r *Runner) runShaped(ctx context.Context, sess *weft.Session, sql string) string {
	stmts := r.Shape.rewrite(sql)
	if r.Shape.Checkpoint {
		stmts = append(stmts, "CHECKPOINT")
	}
	for _, q := range stmts {
		results, err := sess.Exec(ctx, q)
		for _, res := range results {
			res.Release()
		}
		if err != nil {
			return "unexpected error: " + sqlerr.Format(err)
		}
	}
	return ""
}

var sqlstatePattern = regexp.MustCompile(`^[0-9A-Z]{5}$`)

func errorMatches(err error, pattern string) bool {
	if sqlstatePattern.MatchString(pattern) {
		return sqlerr.Code(err) == pattern
	}
	msg := sqlerr.Format(err)
	if strings.Contains(msg, pattern) {
		return true
	}
	re, rerr := regexp.Compile(pattern)
	return rerr == nil && re.MatchString(msg)
}

// flatten turns expected lines into values: one value per line, or one row
// per line with values separated by tabs or spaces.
func flatten(lines []string, ncols int) []string {
	if ncols <= 1 {
		return lines
	}
	var out []string
	for _, l := range lines {
		if strings.Contains(l, "\t") {
			out = append(out, strings.Split(l, "\t")...)
			continue
		}
		f := strings.Fields(l)
		if len(f) == ncols {
			out = append(out, f...)
		} else {
			out = append(out, l)
		}
	}
	return out
}

func formatResult(res *weft.Result, typeLetters string) ([]string, int) {
	ncols := len(res.Columns)
	var vals []string
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			for c := 0; c < ncols; c++ {
				letter := byte('T')
				if c < len(typeLetters) {
					letter = typeLetters[c]
				}
				vals = append(vals, formatValue(res, c, exec.DatumAt(b.Column(c), i), letter))
			}
		}
	}
	return vals, ncols
}

func formatValue(res *weft.Result, col int, d types.Datum, letter byte) string {
	t := res.Columns[col].Type
	if d == nil {
		return "NULL"
	}
	switch letter {
	case 'I':
		switch v := d.(type) {
		case int64:
			return strconv.FormatInt(v, 10)
		case float64:
			return strconv.FormatInt(int64(v), 10)
		case decimal128.Num:
			r := types.NumericToRat(v, t.Scale)
			q := new(big.Int).Quo(r.Num(), r.Denom())
			return q.String()
		case bool:
			if v {
				return "1"
			}
			return "0"
		}
	case 'R':
		switch v := d.(type) {
		case int64:
			return fmt.Sprintf("%.3f", float64(v))
		case float64:
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return types.FormatFloat(v, 64)
			}
			return fmt.Sprintf("%.3f", v)
		case decimal128.Num:
			f, _ := types.NumericToRat(v, t.Scale).Float64()
			return fmt.Sprintf("%.3f", f)
		}
	}
	s := res.FormatValue(col, d)
	if s == "" {
		return "(empty)"
	}
	var sb strings.Builder
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			sb.WriteByte('@')
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func sortValues(vals []string, ncols int, mode string) []string {
	switch mode {
	case "valuesort":
		out := append([]string{}, vals...)
		sort.Strings(out)
		return out
	case "rowsort":
		if ncols == 0 {
			return vals
		}
		rows := make([][]string, 0, len(vals)/ncols)
		for i := 0; i+ncols <= len(vals); i += ncols {
			rows = append(rows, vals[i:i+ncols])
		}
		sort.SliceStable(rows, func(i, j int) bool {
			for k := 0; k < ncols; k++ {
				if rows[i][k] != rows[j][k] {
					return rows[i][k] < rows[j][k]
				}
			}
			return false
		})
		out := make([]string, 0, len(vals))
		for _, r := range rows {
			out = append(out, r...)
		}
		return out
	}
	return vals
}

func hashValues(vals []string) string {
	h := md5.New()
	for _, v := range vals {
		io.WriteString(h, v)
		io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}
