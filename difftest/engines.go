package difftest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// answer is what an engine said to a query: rows of text values (PG's
// text output; nil for NULL) or an error's SQLSTATE.
type answer struct {
	rows     [][]*string
	float    []bool // columns PostgreSQL types as float4/float8
	interval []bool // columns PostgreSQL types as interval
	bpchar   []bool // columns PostgreSQL types as char(n)
	code     string // "" when there was no error
	msg      string
}

const queryTimeout = 10 * time.Second

// weftEngine is an in-memory Weft database laid out in a given shape.
type weftEngine struct {
	db   *engine.DB
	sess *engine.Session
	mem  *memory.CheckedAllocator
}

// Shape is how the Weft database lays out its data.
type Shape struct {
	Partitions, BatchSize int
}

// udfDefinitions are the wasm functions (from the project's fixtures)
// the metamorphic checks compare with their built-in equivalents.
var udfDefinitions = []string{
	"CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' IMMUTABLE",
	"CREATE FUNCTION is_even(bigint) RETURNS boolean LANGUAGE wasm AS 'plain.wasm', 'is_even'",
	"CREATE FUNCTION clamp(float8, float8, float8) RETURNS float8 LANGUAGE wasm AS 'plain.wasm', 'clamp' IMMUTABLE",
}

// openWeft opens a database in shape sh; with udfDir, the wasm functions
// of udfDefinitions are registered from it.
func openWeft(sh Shape, udfDir string) (*weftEngine, error) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	opts := engine.Options{Partitions: sh.Partitions, BatchSize: sh.BatchSize, Mem: mem}
	if udfDir != "" {
		opts.UDF = udf.Config{ModuleDir: udfDir}
	}
	db, err := engine.Open(opts)
	if err != nil {
		return nil, err
	}
	w := &weftEngine{db: db, sess: db.NewSession(), mem: mem}
	if udfDir != "" {
		for _, def := range udfDefinitions {
			if a := w.run(def); a.code != "" {
				w.close()
				return nil, fmt.Errorf("%s: %s %s", def, a.code, a.msg)
			}
		}
	}
	return w, nil
}

// close releases the database and reports memory it leaked.
func (w *weftEngine) close() error {
	w.db.Close()
	if n := w.mem.CurrentAlloc(); n != 0 {
		return fmt.Errorf("weft leaked %d bytes of Arrow memory", n)
	}
	return nil
}

func (w *weftEngine) run(sql string) answer {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	results, err := w.sess.Exec(ctx, sql)
	defer func() {
		for _, r := range results {
			r.Release()
		}
	}()
	if err != nil {
		e := sqlerr.Wrap(err)
		return answer{code: e.Code, msg: e.Message}
	}
	if len(results) == 0 {
		return answer{}
	}
	res := results[len(results)-1]
	var a answer
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]*string, b.NumCols())
			for c := range row {
				d := exec.DatumAt(b.Column(c), i)
				if d != nil {
					s := types.Format(res.Columns[c].Type, d)
					row[c] = &s
				}
			}
			a.rows = append(a.rows, row)
		}
	}
	return a
}

// pgEngine is a schema of its own on a PostgreSQL server.
type pgEngine struct {
	conn   *pgx.Conn
	schema string
}

func openPG(ctx context.Context, url, schema string) (*pgEngine, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	p := &pgEngine{conn: conn, schema: schema}
	setup := fmt.Sprintf("DROP SCHEMA IF EXISTS %[1]s CASCADE; CREATE SCHEMA %[1]s; SET search_path TO %[1]s; SET TimeZone = 'UTC'; SET statement_timeout = '%[2]ds'",
		schema, int(queryTimeout/time.Second))
	if a := p.run(setup); a.code != "" {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres setup: %s %s", a.code, a.msg)
	}
	return p, nil
}

func (p *pgEngine) close() {
	p.run("DROP SCHEMA IF EXISTS " + p.schema + " CASCADE")
	p.conn.Close(context.Background())
}

func (p *pgEngine) run(sql string) answer {
	results, err := p.conn.PgConn().Exec(context.Background(), sql).ReadAll()
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return answer{code: pe.Code, msg: pe.Message}
		}
		return answer{code: "XX000", msg: err.Error()}
	}
	if len(results) == 0 {
		return answer{}
	}
	res := results[len(results)-1]
	var a answer
	for _, f := range res.FieldDescriptions {
		a.float = append(a.float, f.DataTypeOID == 700 || f.DataTypeOID == 701)
		a.interval = append(a.interval, f.DataTypeOID == 1186)
		a.bpchar = append(a.bpchar, f.DataTypeOID == 1042)
	}
	for _, r := range res.Rows {
		row := make([]*string, len(r))
		for c, v := range r {
			if v != nil {
				s := string(v)
				row[c] = &s
			}
		}
		a.rows = append(a.rows, row)
	}
	return a
}

// normalize turns an answer's rows into comparable strings: floats to 9
// significant digits (sums of floats may differ in the last bits with the
// order they were added in) and -0 as 0 (they are equal, so which one a
// DISTINCT keeps or ORDER BY puts first is open), intervals that are
// equal (1 mon and 30 days) alike when equalIntervals says the query
// chose among equal values, NULL as a marker no value can have.
func normalize(a answer, floatCols, intervalCols, bpcharCols []bool, equalIntervals bool) []string {
	out := make([]string, len(a.rows))
	for i, row := range a.rows {
		parts := make([]string, len(row))
		for c, v := range row {
			switch {
			case v == nil:
				parts[c] = "\x00NULL"
			case c < len(floatCols) && floatCols[c]:
				if f, err := strconv.ParseFloat(*v, 64); err == nil {
					parts[c] = strconv.FormatFloat(f+0, 'g', 9, 64)
					if f == 0 {
						parts[c] = "0"
					}
				} else {
					parts[c] = *v
				}
			case equalIntervals && c < len(intervalCols) && intervalCols[c]:
				parts[c] = intervalKey(*v)
			case equalIntervals && c < len(bpcharCols) && bpcharCols[c]:
				parts[c] = strings.TrimRight(*v, " ") // 'zz' and 'zz  ' are equal
			default:
				parts[c] = *v
			}
		}
		out[i] = strings.Join(parts, "\x01")
	}
	return out
}

// intervalKey is an interval's value as PostgreSQL compares it (a month
// is 30 days, a day 24 hours).
func intervalKey(s string) string {
	d, err := types.ParseInterval(s)
	if err != nil {
		return s
	}
	iv := d.(types.IntervalValue)
	return strconv.FormatInt((int64(iv.Months)*30+int64(iv.Days))*86_400_000_000+iv.Micros, 10)
}

// copyIn runs COPY table FROM STDIN with rows.
func (w *weftEngine) copyIn(table string, rows [][]*string) answer {
	in, err := w.sess.BeginCopy("COPY " + table + " FROM STDIN")
	if err != nil {
		e := sqlerr.Wrap(err)
		return answer{code: e.Code, msg: e.Message}
	}
	for i, row := range rows {
		if err := in.AddText(row, "", i+1); err != nil {
			in.Abort()
			e := sqlerr.Wrap(err)
			return answer{code: e.Code, msg: e.Message}
		}
	}
	if _, err := in.Commit(); err != nil {
		e := sqlerr.Wrap(err)
		return answer{code: e.Code, msg: e.Message}
	}
	return answer{}
}

func (p *pgEngine) copyIn(table string, rows [][]*string) answer {
	var sb strings.Builder
	for _, row := range rows {
		for i, f := range row {
			if i > 0 {
				sb.WriteByte('\t')
			}
			if f == nil {
				sb.WriteString("\\N")
			} else {
				sb.WriteString(*f)
			}
		}
		sb.WriteByte('\n')
	}
	_, err := p.conn.PgConn().CopyFrom(context.Background(), strings.NewReader(sb.String()), "COPY "+table+" FROM STDIN")
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return answer{code: pe.Code, msg: pe.Message}
		}
		return answer{code: "XX000", msg: err.Error()}
	}
	return answer{}
}
