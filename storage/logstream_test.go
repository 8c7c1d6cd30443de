package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestLogStreamMatchesIPCWriter: the streams the log's encoder writes
// (schema messages from its cache) are byte for byte those of
// ipc.Writer, for batches of many types, with NULLs, sliced, of a schema
// met again under another pointer, of schemas differing only in
// metadata, and with a dictionary column (through ipc.Writer itself).
func TestLogStreamMatchesIPCWriter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	wide := func(md map[string]string) *arrow.Schema {
		var meta *arrow.Metadata
		if md != nil {
			m := arrow.MetadataFrom(md)
			meta = &m
		}
		return arrow.NewSchema([]arrow.Field{
			{Name: "i", Type: arrow.PrimitiveTypes.Int32},
			{Name: "b", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "d", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
			{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
			{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
			{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		}, meta)
	}
	build := func(schema *arrow.Schema, rows int) arrow.Record {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		for r := 0; r < rows; r++ {
			b.Field(0).(*array.Int32Builder).Append(int32(r))
			if r%3 == 0 {
				b.Field(1).AppendNull()
				b.Field(2).AppendNull()
				b.Field(3).AppendNull()
			} else {
				b.Field(1).(*array.Int64Builder).Append(int64(r) * 1000)
				b.Field(2).(*array.StringBuilder).Append("row " + string(rune('a'+r%26)))
				b.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(r) * 7))
			}
			b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(r))
			b.Field(5).(*array.BooleanBuilder).Append(r%2 == 0)
			lb := b.Field(6).(*array.ListBuilder)
			lb.Append(true)
			for k := 0; k < r%4; k++ {
				lb.ValueBuilder().(*array.Int64Builder).Append(int64(k))
			}
		}
		return b.NewRecord()
	}
	dictSchema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}}}, nil)
	db := array.NewDictionaryBuilder(mem, dictSchema.Field(0).Type.(*arrow.DictionaryType)).(*array.BinaryDictionaryBuilder)
	for _, v := range []string{"x", "y", "x"} {
		db.AppendString(v)
	}
	dictCol := db.NewArray()
	db.Release()
	dictRec := array.NewRecord(dictSchema, []arrow.Array{dictCol}, 3)
	dictCol.Release()
	defer dictRec.Release()

	first := build(wide(nil), 10)
	defer first.Release()
	again := build(wide(nil), 1) // (an equal schema, another pointer)
	defer again.Release()
	tagged := build(wide(map[string]string{"k": "v"}), 5)
	defer tagged.Release()
	sliced := first.NewSlice(3, 7)
	defer sliced.Release()
	var enc streamEncoder
	for i, rec := range []arrow.Record{first, again, tagged, sliced, dictRec, first, tagged} {
		var got, want bytes.Buffer
		if err := enc.write(&got, rec); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if err := writeWithIPCWriter(&want, rec); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("batch %d: %d bytes, ipc.Writer writes %d (or other bytes)", i, got.Len(), want.Len())
		}
		back, err := readStream(got.Bytes(), rec.Schema(), mem)
		if err != nil {
			t.Fatalf("batch %d: reading it back: %v", i, err)
		}
		if !array.RecordEqual(back, rec) {
			t.Errorf("batch %d reads back as %v, want %v", i, back, rec)
		}
		back.Release()
	}
	if n := len(enc.recent); n != 3 {
		t.Errorf("%d schemas cached, want 3 (the plain, the tagged and the dictionary one)", n)
	}
}

// TestBatchMessageMatchesIPCWriter: the batches the log's own batch
// encoder takes (plain top-level columns: fixed width, booleans, strings,
// binaries) are written byte for byte as ipc.Writer writes them — with
// NULLs or none, every value NULL, no rows, buffers longer than the batch
// (a batch cut from the front of a larger one: bitmaps and values are
// cut, bits past the end cleared), sliced (bitmaps shifted, offsets
// moved to zero) — and read back equal; nested columns go through
// arrow's encoder instead.
func TestBatchMessageMatchesIPCWriter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int32},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "nulls", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "iv", Type: arrow.FixedWidthTypes.MonthDayNanoInterval, Nullable: true},
		{Name: "fsb", Type: &arrow.FixedSizeBinaryType{ByteWidth: 3}, Nullable: true},
	}, nil)
	build := func(rows int, nullEvery int) arrow.Record {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		for r := 0; r < rows; r++ {
			null := nullEvery > 0 && r%nullEvery == 0
			b.Field(0).(*array.Int32Builder).Append(int32(r))
			if null {
				for _, c := range []int{1, 2, 3, 4, 5, 6, 7, 9, 10} {
					b.Field(c).AppendNull()
				}
			} else {
				b.Field(1).(*array.Int64Builder).Append(int64(r) * 1000)
				b.Field(2).(*array.StringBuilder).Append(strings.Repeat("x", r%7))
				b.Field(3).(*array.BinaryBuilder).Append([]byte{byte(r), 0, byte(r >> 8)})
				b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(r) * 7))
				b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(r))
				b.Field(6).(*array.BooleanBuilder).Append(r%3 != 1)
				b.Field(7).(*array.Float64Builder).Append(float64(r) / 3)
				b.Field(9).(*array.MonthDayNanoIntervalBuilder).Append(arrow.MonthDayNanoInterval{Months: int32(r), Days: 1, Nanoseconds: 5})
				b.Field(10).(*array.FixedSizeBinaryBuilder).Append([]byte{1, 2, byte(r)})
			}
			b.Field(8).AppendNull()
		}
		return b.NewRecord()
	}
	// cut is a batch of the first rows of rec whose arrays keep rec's
	// (longer) buffers at offset 0
	cut := func(rec arrow.Record, rows int64) arrow.Record {
		s := rec.NewSlice(0, rows)
		defer s.Release()
		return array.NewRecord(schema, s.Columns(), rows)
	}
	large := build(1200, 4) // (bitmaps longer than 64 bytes)
	defer large.Release()
	nested := arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
	lb := array.NewRecordBuilder(mem, nested)
	lb.Field(0).(*array.ListBuilder).Append(true)
	lb.Field(0).(*array.ListBuilder).ValueBuilder().(*array.Int64Builder).Append(1)
	list := lb.NewRecord()
	lb.Release()
	defer list.Release()
	for _, tc := range []struct {
		name string
		rec  arrow.Record
		own  bool // the batch encoder writes it
	}{
		{"one row", build(1, 0), true},
		{"nulls", build(10, 3), true},
		{"no nulls", build(70, 0), true},
		{"no rows", build(0, 0), true},
		{"front of a larger batch", cut(large, 5), true},
		{"front, one row", cut(large, 1), true},
		{"front, 100 rows", cut(large, 100), true},
		{"sliced", large.NewSlice(3, 9), true},
		{"sliced, one row", large.NewSlice(517, 518), true},
		{"sliced, no rows", large.NewSlice(40, 40), true},
		{"sliced, long", large.NewSlice(13, 1111), true},
		{"sliced, no nulls in it", large.NewSlice(5, 8), true},
		{"sliced after empty strings", large.NewSlice(1, 6), true}, // (offsets already from zero)
		{"nested", retained(list), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.rec.Release()
			var enc streamEncoder
			if own := enc.batch.encode(tc.rec); own != tc.own {
				t.Fatalf("batch encoder takes it: %v, want %v", own, tc.own)
			}
			var got, want bytes.Buffer
			if err := enc.write(&got, tc.rec); err != nil {
				t.Fatal(err)
			}
			if err := writeWithIPCWriter(&want, tc.rec); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%d bytes, ipc.Writer writes %d (or other bytes)\n got %x\nwant %x", got.Len(), want.Len(), got.Bytes(), want.Bytes())
			}
			back, err := readStream(got.Bytes(), tc.rec.Schema(), mem)
			if err != nil {
				t.Fatalf("reading it back: %v", err)
			}
			defer back.Release()
			if !array.RecordEqual(back, tc.rec) {
				t.Errorf("reads back as %v, want %v", back, tc.rec)
			}
		})
	}
}

func retained(r arrow.Record) arrow.Record {
	r.Retain()
	return r
}

// BenchmarkLogStreamOneRow: a one-row batch of pgbench_accounts' shape as
// a log entry's stream, by the log's batch encoder and by arrow's.
func BenchmarkLogStreamOneRow(b *testing.B) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "aid", Type: arrow.PrimitiveTypes.Int32}, {Name: "bid", Type: arrow.PrimitiveTypes.Int32},
		{Name: "abalance", Type: arrow.PrimitiveTypes.Int32}, {Name: "filler", Type: arrow.BinaryTypes.String},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	rb.Field(0).(*array.Int32Builder).Append(7)
	rb.Field(1).(*array.Int32Builder).Append(1)
	rb.Field(2).(*array.Int32Builder).Append(-120)
	rb.Field(3).(*array.StringBuilder).Append(strings.Repeat(" ", 84))
	rec := rb.NewRecord()
	rb.Release()
	defer rec.Release()
	var enc streamEncoder
	sm, err := enc.messageOf(schema)
	if err != nil {
		b.Fatal(err)
	}
	var w bytes.Buffer
	b.Run("batch encoder", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			w.Reset()
			if err := enc.write(&w, rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("arrow", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			w.Reset()
			if err := writeWithPayload(&w, sm, rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBatchMessageRandomBatches: random batches of the types the log's
// batch encoder takes — random lengths, NULL densities (none, some, all)
// and slices — are written byte for byte as ipc.Writer writes them.
func TestBatchMessageRandomBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typesUsed := []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
		arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Timestamp_us, &arrow.Decimal128Type{Precision: 20, Scale: 3},
		arrow.FixedWidthTypes.Boolean, arrow.BinaryTypes.String, arrow.BinaryTypes.Binary,
		&arrow.FixedSizeBinaryType{ByteWidth: 5}, arrow.FixedWidthTypes.MonthDayNanoInterval,
	}
	rng := rand.New(rand.NewPCG(7, 8))
	appendValue := func(b array.Builder) {
		switch b := b.(type) {
		case *array.StringBuilder:
			b.Append(strings.Repeat("y", rng.IntN(12)))
		case *array.BinaryBuilder:
			b.Append(bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(9)))
		case *array.BooleanBuilder:
			b.Append(rng.IntN(2) == 0)
		case *array.Int32Builder:
			b.Append(rng.Int32())
		case *array.Int64Builder:
			b.Append(rng.Int64())
		default:
			b.AppendEmptyValue()
		}
	}
	var enc streamEncoder
	for trial := range 400 {
		var fields []arrow.Field
		for c := range 1 + rng.IntN(5) {
			fields = append(fields, arrow.Field{Name: fmt.Sprint("c", c), Type: typesUsed[rng.IntN(len(typesUsed))], Nullable: true})
		}
		schema := arrow.NewSchema(fields, nil)
		rows := rng.IntN(700)
		b := array.NewRecordBuilder(mem, schema)
		for c := range fields {
			nullEvery := []int{0, 1, 2, 5, 97}[rng.IntN(5)] // (1: every value NULL)
			for r := range rows {
				if nullEvery > 0 && r%nullEvery == 0 {
					b.Field(c).AppendNull()
				} else {
					appendValue(b.Field(c))
				}
			}
		}
		rec := b.NewRecord()
		b.Release()
		from := int64(rng.IntN(rows + 1))
		to := from + int64(rng.IntN(rows-int(from)+1))
		for _, r := range []arrow.Record{rec, rec.NewSlice(from, to)} {
			if !enc.batch.encode(r) {
				t.Fatalf("trial %d: the batch encoder does not take %v", trial, schema)
			}
			var got, want bytes.Buffer
			if err := enc.write(&got, r); err != nil {
				t.Fatal(err)
			}
			if err := writeWithIPCWriter(&want, r); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("trial %d (%v, rows %d of %d from %d): %d bytes, ipc.Writer writes %d (or other bytes)",
					trial, schema, r.NumRows(), rows, from, got.Len(), want.Len())
			}
			if r != rec {
				r.Release()
			}
		}
		rec.Release()
	}
}
