package binder

import (
	"sort"
	"strings"

	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// systemView builds Weft's own catalog views, read when the query runs:
//
//	weft.functions — user-defined functions with their signatures
//	weft.modules   — wasm modules by content hash, with what they define
//	weft.workers   — a coordinator's worker processes and their state
//	weft.cached    — the partitions of cached tables and where they are held
func (b *Binder) systemView(name string) (logical.Plan, bool) {
	switch name {
	case "functions":
		return b.viewFunctions(), true
	case "modules":
		return b.viewModules(), true
	case "workers":
		return b.viewWorkers(), true
	case "cached":
		return b.viewCached(), true
	}
	return nil, false
}

func (b *Binder) valuesOf(names []string, ts []types.T, rows [][]types.Datum) logical.Plan {
	cols := make([]logical.Column, len(names))
	for i := range names {
		cols[i] = b.newColumn(names[i], ts[i])
	}
	out := make([][]logical.Expr, len(rows))
	for r, row := range rows {
		out[r] = make([]logical.Expr, len(row))
		for i, d := range row {
			out[r][i] = &logical.Const{Value: d, T: ts[i]}
		}
	}
	return &logical.Values{Rows: out, Cols: cols}
}

func (b *Binder) viewFunctions() logical.Plan {
	var rows [][]types.Datum
	for _, f := range b.Cat.Functions() {
		u := f.UDF
		kind := "scalar"
		switch {
		case u.IsAggregate():
			kind = "aggregate"
		case u.IsTable():
			kind = "table"
		}
		result := u.Result.String()
		if u.AnyResult || u.IsTable() {
			result = "any"
		}
		var module types.Datum
		if u.Module != nil {
			module = u.Module.Hash
		}
		rows = append(rows, []types.Datum{f.Schema, u.Name, u.Signature(), result, kind, module, u.Export, u.Strict, u.Volatile, int64(u.MaxMemory)})
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i][0].(string)+"."+rows[i][2].(string) < rows[j][0].(string)+"."+rows[j][2].(string)
	})
	return b.valuesOf(
		[]string{"schema", "name", "signature", "result", "kind", "module", "export", "strict", "volatile", "max_memory"},
		[]types.T{types.TextT, types.TextT, types.TextT, types.TextT, types.TextT, types.TextT, types.TextT, types.BoolT, types.BoolT, types.Int8T},
		rows)
}

func (b *Binder) viewModules() logical.Plan {
	users := map[string][]string{}
	for _, f := range b.Cat.Functions() {
		if f.UDF.Module != nil {
			users[f.UDF.Module.Hash] = append(users[f.UDF.Module.Hash], f.UDF.Name)
		}
	}
	var rows [][]types.Datum
	for hash, names := range users {
		sort.Strings(names)
		var size int64
		var manifest []string
		for _, f := range b.Cat.Functions() {
			if f.UDF.Module != nil && f.UDF.Module.Hash == hash {
				size = int64(f.UDF.Module.Size)
				for _, e := range f.UDF.Module.Manifest {
					manifest = append(manifest, e.Name)
				}
				break
			}
		}
		rows = append(rows, []types.Datum{hash, size, strings.Join(names, ", "), strings.Join(manifest, ", ")})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0].(string) < rows[j][0].(string) })
	return b.valuesOf([]string{"sha256", "bytes", "functions", "manifest"},
		[]types.T{types.TextT, types.Int8T, types.TextT, types.TextT}, rows)
}

func (b *Binder) viewWorkers() logical.Plan {
	var rows [][]types.Datum
	if b.Workers != nil {
		rows = b.Workers()
	}
	return b.valuesOf(
		[]string{"address", "state", "reason", "last_heartbeat", "fragments", "partitions_lost", "pid"},
		[]types.T{types.TextT, types.TextT, types.TextT, types.TimestampTZT, types.Int8T, types.Int8T, types.Int8T},
		rows)
}

func (b *Binder) viewCached() logical.Plan {
	var rows [][]types.Datum
	if b.Cached != nil {
		rows = b.Cached()
	}
	return b.valuesOf(
		[]string{"relation", "partition", "worker", "rows", "bytes", "hits"},
		[]types.T{types.TextT, types.Int4T, types.TextT, types.Int8T, types.Int8T, types.Int8T},
		rows)
}
