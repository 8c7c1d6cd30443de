package main

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// executor runs SQL for the shell: the embedded session, or a server.
type executor interface {
	Exec(ctx context.Context, sql string) ([]*engine.Result, error)
}

// remote runs the shell's statements on a PostgreSQL-protocol server (a
// Weft server or PostgreSQL itself) through pgx's connection layer.
type remote struct{ conn *pgconn.PgConn }

func (r *remote) Exec(ctx context.Context, sql string) ([]*engine.Result, error) {
	results, err := r.conn.Exec(ctx, sql).ReadAll()
	var out []*engine.Result
	for _, res := range results {
		out = append(out, toResult(res))
	}
	if err != nil {
		if pgErr, ok := err.(*pgconn.PgError); ok {
			return out, &sqlerr.Error{Code: pgErr.Code, Message: pgErr.Message, Detail: pgErr.Detail, Hint: pgErr.Hint, Position: int(pgErr.Position)}
		}
		return out, err
	}
	return out, nil
}

// toResult turns a text-format result into the shell's result type; every
// column is shown as text.
func toResult(res *pgconn.Result) *engine.Result {
	out := &engine.Result{Tag: res.CommandTag.String(), Query: len(res.FieldDescriptions) > 0}
	if !out.Query {
		return out
	}
	fields := make([]arrow.Field, len(res.FieldDescriptions))
	builders := make([]*array.StringBuilder, len(res.FieldDescriptions))
	for i, f := range res.FieldDescriptions {
		fields[i] = arrow.Field{Name: f.Name, Type: arrow.BinaryTypes.String, Nullable: true}
		out.Columns = append(out.Columns, engine.Column{Name: f.Name, Type: types.TextT})
		builders[i] = array.NewStringBuilder(memory.DefaultAllocator)
		defer builders[i].Release()
	}
	for _, row := range res.Rows {
		for i, v := range row {
			if v == nil {
				builders[i].AppendNull()
			} else {
				builders[i].Append(string(v))
			}
		}
	}
	cols := make([]arrow.Array, len(builders))
	for i, b := range builders {
		cols[i] = b.NewArray()
		defer cols[i].Release()
	}
	out.Batches = []arrow.Record{array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(res.Rows)))}
	return out
}
