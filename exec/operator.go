// Package exec runs physical plans: vectorized operators over Arrow record
// batches, one stream per partition, with exchanges that run partitions in
// parallel goroutines.
//
// Ownership: a batch returned by Stream.Next belongs to the caller, who must
// Release it. Streams must be closed; Close is idempotent and waits for any
// goroutine the stream started.
package exec

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Env is the per-query environment operators share.
type Env struct {
	Mem         memory.Allocator
	BatchSize   int
	Parallelism int
	// Now is the statement's timestamp (now(), current_date).
	Now time.Time
	// Zone is the session's TimeZone (nil means UTC): timestamptz values
	// are shown, read and split into fields in it.
	Zone *time.Location
	// ZoneName is how SHOW TimeZone displays Zone.
	ZoneName string
	// Progress, when set, counts what loads have read so far.
	Progress *Progress
	// Backends, when set, shows and signals the database's sessions.
	Backends Backends
	// Advisory, when set, takes and gives back the session's advisory
	// locks (pg_advisory_lock and friends).
	Advisory AdvisoryLocks
	// Notify, when set, sends a notification (pg_notify).
	Notify func(channel, payload string) error
	// Memory, when set, is the statement's allocator (Mem is it too):
	// operators that hold state keep accounts in it, and those that can
	// spill do so past their share of its limit (spillbudget.go).
	Memory *QueryAllocator
	// Spill, when set, is where the statement's operators write what
	// does not fit; without it nothing spills.
	Spill *spill.Query
	// FileSplitRows is the fewest rows of a partition of a Parquet
	// file's row groups (FileScan); 0 keeps each file one partition.
	FileSplitRows int64
}

// Progress counts rows and bytes a running statement has read from
// files, for a progress display; safe to read while it runs.
type Progress struct {
	Rows, Bytes atomic.Int64
}

// TimeZone is the session's zone, UTC when none is set.
func (e *Env) TimeZone() *time.Location {
	if e == nil || e.Zone == nil {
		return time.UTC
	}
	return e.Zone
}

// StatementTime is the statement's timestamp, the zero time (the system
// clock) when there is no Env.
func (e *Env) StatementTime() time.Time {
	if e == nil {
		return time.Time{}
	}
	return e.Now
}

// NewEnv returns an Env with defaults filled in.
func NewEnv(mem memory.Allocator, batchSize, parallelism int) *Env {
	if batchSize <= 0 {
		batchSize = 8192
	}
	if parallelism <= 0 {
		parallelism = 1
	}
	return &Env{Mem: mem, BatchSize: batchSize, Parallelism: parallelism, Now: time.Now(), FileSplitRows: DefaultFileSplitRows}
}

// Operator is a node of a physical plan.
type Operator interface {
	// Schema describes the batches every partition's stream yields.
	Schema() *arrow.Schema
	// Partitions is the number of independent output streams.
	Partitions() int
	// Open starts partition part. It does no work until Next is called.
	Open(ctx context.Context, part int) (Stream, error)
	// Children lists the inputs, for EXPLAIN.
	Children() []Operator
	// Explain names the operator and its arguments on one line.
	Explain() string
}

// Stream yields batches; io.EOF ends it.
type Stream interface {
	Next(ctx context.Context) (arrow.Record, error)
	Close()
}

type outerKey struct{}

// WithOuter returns a context carrying outer-row values for correlated
// subqueries.
func WithOuter(ctx context.Context, outer []types.Datum) context.Context {
	return context.WithValue(ctx, outerKey{}, outer)
}

func outerFrom(ctx context.Context) []types.Datum {
	v, _ := ctx.Value(outerKey{}).([]types.Datum)
	return v
}

type runKey struct{}

// withRun marks ctx as a new run of a plan (a recursive CTE's next
// iteration): join build sides cached for an earlier run are not reused.
func withRun(ctx context.Context, run string) context.Context {
	if prev, ok := ctx.Value(runKey{}).(string); ok {
		run = prev + "/" + run
	}
	return context.WithValue(ctx, runKey{}, run)
}

// runOf identifies the run ctx belongs to: its outer row and iteration.
// The outer values are written with Go syntax (%#v), which quotes text
// and names NULL apart from any text: printed plainly, the bindings
// ("b c", "d") and ("b", "c d") read alike and the second run joined the
// first one's cached build side.
func runOf(ctx context.Context) string {
	run, _ := ctx.Value(runKey{}).(string)
	return fmt.Sprintf("%#v %s", outerFrom(ctx), run)
}

// NewEvalContext is the context expressions evaluate in outside an
// operator (checks the session runs over rows it is about to store).
func NewEvalContext(ctx context.Context, env *Env) *EvalContext { return newEvalContext(ctx, env) }

func newEvalContext(ctx context.Context, env *Env) *EvalContext {
	return &EvalContext{Ctx: ctx, Mem: env.Mem, Outer: outerFrom(ctx), Env: env}
}

func newBuilder(ec *EvalContext, t types.T) array.Builder {
	return array.NewBuilder(ec.Mem, t.Arrow())
}

// funcStream adapts closures into a Stream.
type funcStream struct {
	next   func(ctx context.Context) (arrow.Record, error)
	close  func()
	closed bool
}

func (s *funcStream) Next(ctx context.Context) (arrow.Record, error) { return s.next(ctx) }
func (s *funcStream) Close() {
	if !s.closed {
		s.closed = true
		if s.close != nil {
			s.close()
		}
	}
}

// sliceStream yields pre-built batches it owns.
type sliceStream struct {
	batches []arrow.Record
	pos     int
}

func (s *sliceStream) Next(ctx context.Context) (arrow.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.pos >= len(s.batches) {
		return nil, io.EOF
	}
	b := s.batches[s.pos]
	s.batches[s.pos] = nil
	s.pos++
	return b, nil
}

func (s *sliceStream) Close() {
	for _, b := range s.batches[s.pos:] {
		if b != nil {
			b.Release()
		}
	}
	s.pos = len(s.batches)
}

// Discard reads one partition to the end, releasing each batch as it
// comes (EXPLAIN ANALYZE runs a plan whose rows nobody keeps).
func Discard(ctx context.Context, op Operator, part int) error {
	st, err := op.Open(ctx, part)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		b, err := st.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b.Release()
	}
}

// DrainResult reads a statement's result rows (all of them are held
// until the statement ends), counting them in an account of their own,
// which a 53200 then names.
func DrainResult(ctx context.Context, env *Env, op Operator) ([]arrow.Record, error) {
	acct := env.account("the result rows")
	st, err := (&Gather{Input: op}).Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var out []arrow.Record
	for {
		b, err := st.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			ReleaseRecords(out)
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		acct.Add(recordBytes(b))
		out = append(out, b)
	}
}

// Drain reads one partition to the end, returning all its batches.
func Drain(ctx context.Context, op Operator, part int) ([]arrow.Record, error) {
	st, err := op.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var out []arrow.Record
	for {
		b, err := st.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			ReleaseRecords(out)
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		out = append(out, b)
	}
}

// DrainAll reads every partition of op, one after another.
func DrainAll(ctx context.Context, op Operator) ([]arrow.Record, error) {
	var out []arrow.Record
	for p := 0; p < op.Partitions(); p++ {
		bs, err := Drain(ctx, op, p)
		if err != nil {
			ReleaseRecords(out)
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

// ReleaseRecords releases every record.
func ReleaseRecords(rs []arrow.Record) {
	for _, r := range rs {
		if r != nil {
			r.Release()
		}
	}
}

// Concat merges batches into one record (an empty one when there are none).
func Concat(mem memory.Allocator, schema *arrow.Schema, rs []arrow.Record) (arrow.Record, error) {
	if len(rs) == 1 {
		rs[0].Retain()
		return rs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer releaseAll(cols)
	var rows int64
	for _, r := range rs {
		rows += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, len(rs))
		for i, r := range rs {
			parts[i] = r.Column(c)
		}
		if len(parts) == 0 {
			b := array.NewBuilder(mem, schema.Field(c).Type)
			cols[c] = b.NewArray()
			b.Release()
			continue
		}
		a, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, err
		}
		cols[c] = a
	}
	return array.NewRecord(schema, cols, rows), nil
}

// guard runs f and turns a panic into an internal error, so that a bug in
// one query fails that query instead of the whole process.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = sqlerr.New(sqlerr.Internal, "internal error: %v", r)
			if e, ok := r.(*sqlerr.Error); ok && (e.Code == sqlerr.DataCorrupted || e.Code == sqlerr.IOError) {
				// a table batch read on demand whose reader did not load
				// it first met a damaged or unreadable file (catalog's
				// lazy.go): that is the error
				err = e
			}
		}
	}()
	return f()
}

// Guard is guard for callers outside the package (the session layer).
func Guard(f func() error) error { return guard(f) }
