package pgsource

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

const (
	pgEpochDays   = 10957 // 2000-01-01 - 1970-01-01
	pgEpochMicros = pgEpochDays * 86400 * 1_000_000
)

// Scan reads the columns Ords of a source, filtered remotely by Filters
// (SQL over ColumnRef names), one partition per page range.
type Scan struct {
	Src     *Source
	Ords    []int
	Filters []string

	mu       sync.Mutex
	open     int       // partitions being read
	coord    *pgx.Conn // holds the exported snapshot while they are
	snapshot string    // the snapshot every partition reads under
	// shared: snapshot is another process's (UseSnapshot), which holds
	// it open; this scan exports none
	shared bool
}

// Export exports the snapshot every partition of the scan reads under,
// split or not, and holds it open until release: partitions read by
// other processes (a coordinator's workers) join it by its id
// (UseSnapshot), so that all of them, and a partition read again, see
// the same rows.
func (s *Scan) Export(ctx context.Context) (snapshot string, release func(), err error) {
	snapshot, _, err = s.acquireSnapshot(ctx, true)
	if err != nil {
		return "", nil, err
	}
	var once sync.Once
	return snapshot, func() { once.Do(s.releaseSnapshot) }, nil
}

// UseSnapshot makes every partition read under snapshot, which another
// process exported and holds (Export).
func (s *Scan) UseSnapshot(snapshot string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshot, s.shared = snapshot, true
}

// Partitions is the number of page ranges read in parallel.
func (s *Scan) Partitions() int { return s.Src.Ranges }

// SQL is the remote query of partition part (for EXPLAIN and tests).
func (s *Scan) SQL(part int) string { return s.Src.querySQL(s.Ords, s.Filters, part) }

// acquireSnapshot returns the snapshot partitions share, exporting it
// on first use when the read is split (or always is set), or joining
// one this scan holds already; "" when there is none. held says the
// caller must let go of it (releaseSnapshot).
func (s *Scan) acquireSnapshot(ctx context.Context, always bool) (snapshot string, held bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared {
		return s.snapshot, false, nil
	}
	if s.Src.Ranges <= 1 && !always && s.coord == nil {
		return "", false, nil
	}
	if s.coord != nil {
		s.open++
		return s.snapshot, true, nil
	}
	conn, err := Connect(ctx, s.Src.ConnString)
	if err != nil {
		return "", false, err
	}
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		conn.Close(context.Background())
		return "", false, remoteError("starting a snapshot", err)
	}
	if err := conn.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&s.snapshot); err != nil {
		conn.Close(context.Background())
		return "", false, remoteError("exporting a snapshot", err)
	}
	s.coord = conn
	s.open++
	return s.snapshot, true, nil
}

// releaseSnapshot lets go of what Export holds.
func (s *Scan) releaseSnapshot() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *Scan) releaseLocked() {
	s.open--
	if s.open == 0 && s.coord != nil {
		s.coord.Close(context.Background())
		s.coord, s.snapshot = nil, ""
	}
}

// Open starts reading partition part into batches of up to batchSize rows
// allocated from mem, under the schema out.
func (s *Scan) Open(ctx context.Context, mem memory.Allocator, out *arrow.Schema, part, batchSize int) (*Reader, error) {
	snapshot, held, err := s.acquireSnapshot(ctx, false)
	if err != nil {
		return nil, err
	}
	r := &Reader{scan: s, mem: mem, out: out, batch: batchSize, held: held}
	if err := r.start(ctx, part, snapshot); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Reader yields one partition's rows as Arrow batches.
type Reader struct {
	scan  *Scan
	mem   memory.Allocator
	out   *arrow.Schema
	batch int
	conn  *pgx.Conn
	rr    *pgconn.ResultReader
	done  bool
	held  bool // a hold on the scan's snapshot, let go at Close
}

func (r *Reader) start(ctx context.Context, part int, snapshot string) error {
	conn, err := Connect(ctx, r.scan.Src.ConnString)
	if err != nil {
		return err
	}
	r.conn = conn
	if snapshot != "" {
		if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
			return remoteError("starting a read", err)
		}
		if _, err := conn.Exec(ctx, "SET TRANSACTION SNAPSHOT "+QuoteLiteral(snapshot)); err != nil {
			return remoteError("joining the snapshot", err)
		}
	}
	formats := make([]int16, len(r.scan.Ords))
	for i, o := range r.scan.Ords {
		if !r.scan.Src.AsText[o] {
			formats[i] = 1
		}
	}
	r.rr = conn.PgConn().ExecParams(ctx, r.scan.SQL(part), nil, nil, nil, formats)
	return nil
}

// Next returns the next batch, or io.EOF after the last.
func (r *Reader) Next(ctx context.Context) (arrow.Record, error) {
	if r.done {
		return nil, io.EOF
	}
	src, ords := r.scan.Src, r.scan.Ords
	builders := make([]array.Builder, len(ords))
	for i, o := range ords {
		builders[i] = array.NewBuilder(r.mem, src.Types[o].Arrow())
	}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	n := 0
	for n < r.batch {
		if !r.rr.NextRow() {
			r.done = true
			if _, err := r.rr.Close(); err != nil {
				return nil, remoteError("reading "+src.Label, err)
			}
			break
		}
		vals := r.rr.Values()
		if len(vals) != max(len(ords), 1) {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "PostgreSQL source %s: a row has %d columns, want %d", src.Label, len(vals), len(ords))
		}
		for i, o := range ords {
			if err := appendValue(builders[i], src.Types[o], src.AsText[o], vals[i]); err != nil {
				return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "PostgreSQL source %s: column %s: %v", src.Label, src.Names[o], err)
			}
		}
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	cols := make([]arrow.Array, len(builders))
	for i, b := range builders {
		cols[i] = b.NewArray()
	}
	rec := array.NewRecord(r.out, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// Close ends the read (an unfinished one is abandoned with its connection).
func (r *Reader) Close() {
	if r.scan == nil {
		return
	}
	if r.conn != nil {
		r.conn.Close(context.Background())
		r.conn = nil
	}
	if r.held {
		r.scan.releaseSnapshot()
	}
	r.scan = nil
}

type badValue string

func (e badValue) Error() string { return string(e) }

// appendValue appends one remote value, binary unless asText.
func appendValue(b array.Builder, t types.T, asText bool, raw []byte) error {
	if raw == nil {
		b.AppendNull()
		return nil
	}
	if asText {
		switch bb := b.(type) {
		case *array.Decimal128Builder:
			d, err := types.ParseNumeric(t, string(raw))
			if err != nil {
				return err
			}
			bb.Append(d.(decimal128.Num))
		case *array.Int64Builder:
			v, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return err
			}
			bb.Append(v)
		case *array.StringBuilder:
			bb.BinaryBuilder.Append(raw)
		default:
			return badValue("no text reading")
		}
		return nil
	}
	need := func(n int) error {
		if len(raw) != n {
			return badValue("binary value of " + strconv.Itoa(len(raw)) + " bytes, want " + strconv.Itoa(n))
		}
		return nil
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		if err := need(1); err != nil {
			return err
		}
		bb.Append(raw[0] != 0)
	case *array.Int16Builder:
		if err := need(2); err != nil {
			return err
		}
		bb.Append(int16(binary.BigEndian.Uint16(raw)))
	case *array.Int32Builder:
		if err := need(4); err != nil {
			return err
		}
		bb.Append(int32(binary.BigEndian.Uint32(raw)))
	case *array.Int64Builder:
		if err := need(8); err != nil {
			return err
		}
		bb.Append(int64(binary.BigEndian.Uint64(raw)))
	case *array.Float32Builder:
		if err := need(4); err != nil {
			return err
		}
		bb.Append(math.Float32frombits(binary.BigEndian.Uint32(raw)))
	case *array.Float64Builder:
		if err := need(8); err != nil {
			return err
		}
		bb.Append(math.Float64frombits(binary.BigEndian.Uint64(raw)))
	case *array.StringBuilder:
		bb.BinaryBuilder.Append(raw)
	case *array.BinaryBuilder:
		bb.Append(raw)
	case *array.Date32Builder:
		if err := need(4); err != nil {
			return err
		}
		bb.Append(arrow.Date32(dateFromPostgres(int32(binary.BigEndian.Uint32(raw)))))
	case *array.Time64Builder:
		if err := need(8); err != nil {
			return err
		}
		bb.Append(arrow.Time64(int64(binary.BigEndian.Uint64(raw))))
	case *array.TimestampBuilder:
		if err := need(8); err != nil {
			return err
		}
		us, err := timestampFromPostgres(int64(binary.BigEndian.Uint64(raw)))
		if err != nil {
			return err
		}
		bb.Append(arrow.Timestamp(us))
	case *array.MonthDayNanoIntervalBuilder:
		if err := need(16); err != nil {
			return err
		}
		bb.Append(arrow.MonthDayNanoInterval{
			Nanoseconds: int64(binary.BigEndian.Uint64(raw)) * 1000,
			Days:        int32(binary.BigEndian.Uint32(raw[8:])),
			Months:      int32(binary.BigEndian.Uint32(raw[12:])),
		})
	default:
		return badValue("unsupported column type")
	}
	return nil
}

// dateFromPostgres shifts PostgreSQL's binary date (days from 2000-01-01)
// to Weft's; infinity and -infinity are the int32 extremes in both.
func dateFromPostgres(v int32) int32 {
	if v == math.MinInt32 || v == math.MaxInt32 {
		return v
	}
	return v + pgEpochDays
}

// timestampFromPostgres shifts PostgreSQL's binary timestamp
// (microseconds from 2000-01-01) to Weft's; infinities are the int64
// extremes in both, and PostgreSQL's last 30 years are past Weft's range.
func timestampFromPostgres(v int64) (int64, error) {
	if v == math.MinInt64 || v == math.MaxInt64 {
		return v, nil
	}
	if v > math.MaxInt64-pgEpochMicros {
		return 0, types.TimestampOutOfRange()
	}
	return v + pgEpochMicros, nil
}
