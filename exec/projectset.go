package exec

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// maxSetRows bounds what one input row may expand to, so that a runaway
// generate_series fails instead of exhausting memory.
const maxSetRows = 100_000_000

// SetFunc is one set-returning function of a select list.
type SetFunc struct {
	Name string // unnest or generate_series
	Args []Expr
	T    types.T // the element type
	// Gen, when set, computes the rows instead (a PL/pgSQL function):
	// this SetFunc is its column Column, and the SetFuncs sharing one Gen
	// share one call per input row.
	Gen    *SetGenerator
	Column int
}

// SetGenerator is a set-returning function computed row by row in Go.
type SetGenerator struct {
	Name string
	Run  func(ctx context.Context, args []types.Datum) ([][]types.Datum, error)
}

// ProjectSet expands each input row into one row per element of its
// set-returning functions, zipped, repeating the input columns.
type ProjectSet struct {
	Env   *Env
	Input Operator
	Funcs []SetFunc
	Out   *arrow.Schema
	// Outer emits one row of NULLs for an input row that expands to none.
	Outer bool
}

func (p *ProjectSet) Schema() *arrow.Schema { return p.Out }
func (p *ProjectSet) Partitions() int       { return p.Input.Partitions() }
func (p *ProjectSet) Children() []Operator  { return []Operator{p.Input} }
func (p *ProjectSet) Explain() string {
	parts := make([]string, len(p.Funcs))
	for i, f := range p.Funcs {
		args := make([]string, len(f.Args))
		for j, a := range f.Args {
			args[j] = a.String()
		}
		parts[i] = f.Name + "(" + strings.Join(args, ", ") + ")"
	}
	return "ProjectSet " + strings.Join(parts, ", ")
}

func (p *ProjectSet) Open(ctx context.Context, part int) (Stream, error) {
	in, err := p.Input.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	ec := newEvalContext(ctx, p.Env)
	return mapBatches(in, func(b arrow.Record) (arrow.Record, error) { return p.expand(ec, b) }), nil
}

// mapBatches streams f of each input batch, skipping empty results (f
// gets its own reference to the batch for the call only).
func mapBatches(in Stream, f func(arrow.Record) (arrow.Record, error)) Stream {
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		for {
			b, err := in.Next(ctx)
			if err != nil {
				return nil, err
			}
			rec, err := f(b)
			b.Release()
			if err != nil || rec.NumRows() > 0 {
				return rec, err
			}
			rec.Release()
		}
	}, close: in.Close}
}

// expand turns one input batch into its output rows.
func (p *ProjectSet) expand(ec *EvalContext, b arrow.Record) (arrow.Record, error) {
	args := make([][]arrow.Array, len(p.Funcs))
	defer func() {
		for _, as := range args {
			releaseAll(as)
		}
	}()
	for k, f := range p.Funcs {
		as, err := evalAll(ec, b, f.Args)
		if err != nil {
			return nil, err
		}
		args[k] = as
	}
	builders := make([]array.Builder, len(p.Funcs))
	for k, f := range p.Funcs {
		builders[k] = newBuilder(ec, f.T)
		defer builders[k].Release()
	}
	var idx []int
	sets := make([][]types.Datum, len(p.Funcs))
	patterns := &regexCache{} // a batch's rows mostly share one pattern
	for i := 0; i < int(b.NumRows()); i++ {
		n := 0
		generated := map[*SetGenerator][][]types.Datum{}
		for k, f := range p.Funcs {
			if f.Name == "ordinality" {
				continue // counts what the others produce
			}
			vals := make([]types.Datum, len(args[k]))
			for j, a := range args[k] {
				vals[j] = DatumAt(a, i)
			}
			if f.Gen != nil {
				set, err := generatedColumn(ec, f, vals, generated)
				if err != nil {
					return nil, err
				}
				sets[k] = set
				n = max(n, len(set))
				continue
			}
			set, err := setElements(f, vals, ec.Env.TimeZone(), patterns)
			if err != nil {
				return nil, err
			}
			sets[k] = set
			n = max(n, len(set))
		}
		for k, f := range p.Funcs {
			if f.Name == "ordinality" {
				sets[k] = make([]types.Datum, n)
				for j := range sets[k] {
					sets[k][j] = int64(j + 1)
				}
			}
		}
		if n == 0 && p.Outer {
			n = 1
			clear(sets)
		}
		if len(idx)+n > maxSetRows {
			return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "set-returning functions produced more than %d rows from one batch", maxSetRows)
		}
		for j := 0; j < n; j++ {
			idx = append(idx, i)
			for k := range p.Funcs {
				if j < len(sets[k]) {
					AppendDatum(builders[k], sets[k][j])
				} else {
					builders[k].AppendNull()
				}
			}
		}
		if i%1024 == 0 {
			if err := ec.Ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	base, err := takeRecord(ec, b, idx)
	if err != nil {
		return nil, err
	}
	defer base.Release()
	cols := append([]arrow.Array{}, base.Columns()...)
	var made []arrow.Array
	for _, bl := range builders {
		a := bl.NewArray()
		made = append(made, a)
		cols = append(cols, a)
	}
	defer releaseAll(made)
	return array.NewRecord(p.Out, cols, int64(len(idx))), nil
}

// generatedColumn is column f.Column of f.Gen's rows for one input row,
// calling the generator once for all the columns it makes.
func generatedColumn(ec *EvalContext, f SetFunc, vals []types.Datum, generated map[*SetGenerator][][]types.Datum) ([]types.Datum, error) {
	rows, ok := generated[f.Gen]
	if !ok {
		var err error
		if rows, err = f.Gen.Run(ec.Ctx, vals); err != nil {
			return nil, err
		}
		generated[f.Gen] = rows
	}
	out := make([]types.Datum, len(rows))
	for j, r := range rows {
		out[j] = r[f.Column]
	}
	return out, nil
}

// setElements computes one row's elements of a set-returning function.
func setElements(f SetFunc, vals []types.Datum, zone *time.Location, patterns *regexCache) ([]types.Datum, error) {
	for _, v := range vals {
		if v == nil {
			return nil, nil
		}
	}
	switch f.Name {
	case "unnest":
		switch v := vals[0].(type) {
		case []types.Datum:
			return v, nil
		case string:
			elems, err := ParseTextArray(v)
			if err != nil {
				return nil, err
			}
			out := make([]types.Datum, len(elems))
			for i, e := range elems {
				if e != nil {
					if out[i], err = CastDatum(*e, types.TextT, f.T, false); err != nil {
						return nil, err
					}
				}
			}
			return out, nil
		}
	case "_pg_expandarray", "_pg_expandarray.x", "_pg_expandarray.n":
		var elems []types.Datum
		switch v := vals[0].(type) {
		case []types.Datum:
			elems = v
		case string:
			parts, err := ParseTextArray(v)
			if err != nil {
				return nil, err
			}
			for _, p := range parts {
				if p == nil {
					elems = append(elems, nil)
				} else {
					elems = append(elems, *p)
				}
			}
		}
		out := make([]types.Datum, len(elems))
		for i, e := range elems {
			switch f.Name {
			case "_pg_expandarray.n":
				out[i] = int64(i + 1)
			case "_pg_expandarray.x":
				if s, ok := e.(string); ok {
					v, err := CastDatum(s, types.TextT, f.T, false)
					if err != nil {
						return nil, err
					}
					e = v
				}
				out[i] = e
			default:
				x := ""
				if e != nil {
					x = types.Format(f.T.ElemOrText(), e)
				}
				out[i] = "(" + x + "," + strconv.Itoa(i+1) + ")"
			}
		}
		return out, nil
	case "jsonb_array_elements", "jsonb_array_elements_text", "json_array_elements", "json_array_elements_text",
		"jsonb_object_keys", "json_object_keys", "jsonb_each.key", "jsonb_each.value", "jsonb_each_text.key", "jsonb_each_text.value",
		"json_each.key", "json_each.value", "json_each_text.key", "json_each_text.value":
		return jsonElements(f.Name, vals[0].(string))
	case "generate_subscripts":
		return arraySubscripts(vals)
	case "regexp_matches":
		return regexpMatchesRows(patterns, vals)
	case "regexp_split_to_table":
		return regexpSplitRows(patterns, vals)
	case "generate_series":
		if f.T.Kind == types.Timestamp || f.T.Kind == types.TimestampTZ {
			return timestampElements(f.T, vals, zone)
		}
		start, stop, step := vals[0].(int64), vals[1].(int64), int64(1)
		if len(vals) > 2 {
			step = vals[2].(int64)
		}
		if step == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "step size cannot equal zero")
		}
		var out []types.Datum
		for v := start; step > 0 && v <= stop || step < 0 && v >= stop; v += step {
			if len(out) >= maxSetRows {
				return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "generate_series produced more than %d rows", maxSetRows)
			}
			out = append(out, v)
			if step > 0 && v > stop-step || step < 0 && v < stop-step {
				break // the next step would overflow past stop
			}
		}
		return out, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported in the select list", f.Name)
}

// timestampElements is generate_series over timestamps (stepping a
// timestamptz by months or days in the session's zone).
func timestampElements(t types.T, vals []types.Datum, zone *time.Location) ([]types.Datum, error) {
	next, err := seriesStepper(t, [3]types.Datum{vals[0], vals[1], vals[2]}, zone)
	if err != nil {
		return nil, err
	}
	var out []types.Datum
	for v, ok := next(); ok; v, ok = next() {
		if len(out) >= maxSetRows {
			return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "generate_series produced more than %d rows", maxSetRows)
		}
		out = append(out, v)
	}
	return out, nil
}

// RecordFieldKernel reads field pos of a record in its text form '(a,b)'
// as a value of type t.
func RecordFieldKernel(pos int, t types.T) Kernel {
	return rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
		s := ds[0].(string)
		s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
		fields := strings.Split(s, ",")
		if pos >= len(fields) || fields[pos] == "" {
			return nil, nil
		}
		return CastDatum(fields[pos], types.TextT, t, false)
	})
}

// arraySubscripts is generate_subscripts(array, dim [, reverse]): the
// valid subscripts of dimension dim, descending when reverse is true.
// Weft's arrays have one dimension; any other dim gives no rows.
func arraySubscripts(vals []types.Datum) ([]types.Datum, error) {
	n, lower := 0, 1
	switch v := vals[0].(type) {
	case []types.Datum:
		n = len(v)
	case string:
		elems, lo, err := arrayWithLower(v)
		if err != nil {
			return nil, err
		}
		n, lower = len(elems), lo
	}
	if vals[1].(int64) != 1 {
		return nil, nil
	}
	reverse := len(vals) > 2 && vals[2].(bool)
	out := make([]types.Datum, n)
	for i := range out {
		k := i
		if reverse {
			k = n - 1 - i
		}
		out[i] = int64(lower + k)
	}
	return out, nil
}
