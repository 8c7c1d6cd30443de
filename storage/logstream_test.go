package storage

import (
	"bytes"
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
	if n := len(enc.recent); n != 2 {
		t.Errorf("%d schema messages cached, want 2 (the plain and the tagged schema)", n)
	}
}
