package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/weftdb/weft/storage"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// flip inverts n bytes of the file at path from off (negative: from the
// end).
func flip(t *testing.T, path string, off int64, n int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(raw))
	}
	for i := off; i < off+int64(n); i++ {
		raw[i] ^= 0xff
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncateBy(t *testing.T, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

// firstSegment is the path of a segment file of table seg.
func firstSegment(t *testing.T, dir string) string {
	t.Helper()
	for _, tb := range readTestCatalog(t, dir).Tables {
		if tb.Name == "seg" {
			return filepath.Join(dir, "data", filepath.FromSlash(tb.Parts[0][0].File))
		}
	}
	t.Fatal("no table seg")
	return ""
}

// walEntries parses dir's log.
func walEntries(t *testing.T, dir string) *storage.Log {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "wal.log"))
	if err != nil {
		t.Fatal(err)
	}
	lg, err := storage.ParseLogHeader(raw)
	if err == nil {
		err = lg.Scan(raw)
	}
	if err != nil || len(lg.Entries) != 3 {
		t.Fatalf("log: %v, %d entries", err, len(lg.Entries))
	}
	return lg
}

// TestDamageIsAnError damages each kind of file a data directory holds:
// every case fails with XX001 naming the damaged file (and, for segments,
// the table) and changes nothing; never a wrong answer. The open fails,
// except for damage inside a segment's bytes: open does not read
// segments (it checks that they are there with their sizes), so the
// first query that reads the damaged one fails, and the other tables
// still answer.
func TestDamageIsAnError(t *testing.T) {
	for _, c := range damageCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			makeDatabase(t, dir)
			c.damage(t, dir)
			before := dirImage(t, dir)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			db, err := Open(Options{DataDir: dir, Mem: mem, Partitions: 2, BatchSize: 64})
			if err == nil && !foundAtFirstRead[c.name] {
				db.Close()
				t.Fatal("open succeeded")
			}
			if err == nil {
				err = firstReadOfSeg(t, db, mem)
			}
			mem.AssertSize(t, 0)
			var e *sqlerr.Error
			if !errors.As(err, &e) || e.Code != sqlerr.DataCorrupted {
				t.Fatalf("open: %v (%s), want XX001", err, sqlerr.Code(err))
			}
			for _, w := range c.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q does not say %q", e.Message, w)
				}
			}
			sameImage(t, before, dirImage(t, dir))
			t.Log(e.Message)
		})
	}
}

// foundAtFirstRead are the damage cases the first read of the segment
// finds, not the open.
var foundAtFirstRead = map[string]bool{"segment: 16 bytes flipped": true, "segment: last byte flipped": true}

// firstReadOfSeg reads table seg of a database makeDatabase filled, which
// must fail, while table logged still answers; it returns the failure
// and drops db as a crash would (a clean close would checkpoint).
func firstReadOfSeg(t *testing.T, db *DB, mem *memory.CheckedAllocator) error {
	t.Helper()
	s := db.NewSession()
	_, err := s.Query(context.Background(), "SELECT sum(a) FROM seg")
	if err == nil {
		t.Error("reading the damaged table succeeded")
	}
	if got := one(t, s, "SELECT sum(a) FROM logged"); got != "6" {
		t.Errorf("table logged holds sum %s, want 6", got)
	}
	s.Close()
	crash(t, db, mem)
	return err
}

func walFile(dir string) string     { return filepath.Join(dir, "wal.log") }
func catalogFile(dir string) string { return filepath.Join(dir, "catalog.json") }

// damageCases damage one file of a directory makeDatabase filled; want
// is what the error says.
var damageCases = []struct {
	name   string
	file   string // as weft check names it ("" for a segment)
	damage func(t *testing.T, dir string)
	want   []string
}{
	{"segment: 16 bytes flipped", "", func(t *testing.T, dir string) { flip(t, firstSegment(t, dir), 200, 16) }, []string{"public.seg", ".arrow", "checksum"}},
	{"segment: last byte flipped", "", func(t *testing.T, dir string) { flip(t, firstSegment(t, dir), -1, 1) }, []string{"public.seg", "checksum"}},
	{"segment: truncated", "", func(t *testing.T, dir string) { truncateBy(t, firstSegment(t, dir), 100) }, []string{"public.seg", "bytes"}},
	{"segment: deleted", "", func(t *testing.T, dir string) { os.Remove(firstSegment(t, dir)) }, []string{"public.seg", "missing"}},
	{"catalog: byte flipped", "catalog.json", func(t *testing.T, dir string) { flip(t, catalogFile(dir), 300, 1) }, []string{"catalog.json"}},
	{"catalog: a number changed", "catalog.json", func(t *testing.T, dir string) {
		raw, _ := os.ReadFile(catalogFile(dir))
		raw = bytes.Replace(raw, []byte(`"name": "seg"`), []byte(`"name": "sex"`), 1)
		os.WriteFile(catalogFile(dir), raw, 0o644)
	}, []string{"catalog.json", "checksum"}},
	{"catalog: truncated", "catalog.json", func(t *testing.T, dir string) { truncateBy(t, catalogFile(dir), 40) }, []string{"catalog.json"}},
	{"catalog: checksum field renamed", "catalog.json", func(t *testing.T, dir string) {
		raw, _ := os.ReadFile(catalogFile(dir))
		os.WriteFile(catalogFile(dir), bytes.Replace(raw, []byte(`"crc32c"`), []byte(`"crc32d"`), 1), 0o644)
	}, []string{"catalog.json", "damaged"}},
	{"wal: magic flipped", "wal.log", func(t *testing.T, dir string) { flip(t, walFile(dir), 0, 1) }, []string{"wal.log", "header"}},
	{"wal: generation flipped", "wal.log", func(t *testing.T, dir string) { flip(t, walFile(dir), 8, 1) }, []string{"wal.log", "header checksum"}},
	{"wal: shorter than its header", "wal.log", func(t *testing.T, dir string) { os.Truncate(walFile(dir), 20) }, []string{"wal.log", "header"}},
	{"wal: first entry's payload flipped", "wal.log", func(t *testing.T, dir string) {
		flip(t, walFile(dir), walEntries(t, dir).Entries[0].Off+storage.LogEntryHeader+30, 1)
	}, []string{"wal.log", "checksum"}},
	{"wal: middle entry's length flipped", "wal.log", func(t *testing.T, dir string) {
		flip(t, walFile(dir), walEntries(t, dir).Entries[1].Off+1, 1)
	}, []string{"wal.log", "length"}},
	{"wal: middle entry's length made huge", "wal.log", func(t *testing.T, dir string) {
		flip(t, walFile(dir), walEntries(t, dir).Entries[1].Off+3, 1)
	}, []string{"wal.log", "length"}},
	{"wal: last entry's payload flipped", "wal.log", func(t *testing.T, dir string) { flip(t, walFile(dir), walEntries(t, dir).End-3, 1) }, []string{"wal.log", "checksum"}},
	{"wal: deleted", "wal.log", func(t *testing.T, dir string) { os.Remove(walFile(dir)) }, []string{"wal.log", "missing"}},
}

// TestTornLogEntryIsCut: a final entry cut short anywhere (in its header
// or its payload) is an append that was never acknowledged: open drops it
// and keeps the rest.
func TestTornLogEntryIsCut(t *testing.T) {
	for _, keep := range []int64{0, 5, storage.LogEntryHeader + 3} {
		dir := t.TempDir()
		makeDatabase(t, dir)
		last := walEntries(t, dir).Entries[2].Off
		if err := os.Truncate(filepath.Join(dir, "wal.log"), last+keep); err != nil {
			t.Fatal(err)
		}
		db, mem := openWALTest(t, dir)
		if got := one(t, db.NewSession(), "SELECT count(*), sum(a) FROM logged"); got != "2|3" {
			t.Errorf("keeping %d bytes of the last entry: %s", keep, got)
		}
		closeClean(t, db, mem)
	}
}

// TestOldFormatsStillOpen: a catalog without checksums (segments named by
// bare file names) and a log of the earlier format, as the previous
// version wrote them, open with every row; the open rewrites both in the
// checked format.
func TestOldFormatsStillOpen(t *testing.T) {
	dir := t.TempDir()
	makeDatabase(t, dir)
	writeLegacyCatalog(t, dir)
	writeLegacyLog(t, dir)
	checkDatabase(t, dir)
	raw, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, legacy, err := storage.DecodeCatalog(raw); err != nil || legacy {
		t.Errorf("the catalog was not rewritten with a checksum: legacy=%v %v", legacy, err)
	}
	wal, err := os.ReadFile(filepath.Join(dir, "wal.log"))
	if err != nil || !bytes.HasPrefix(wal, []byte("WEFTWAL3")) {
		t.Errorf("the log was not rewritten in the new format: %q %v", wal[:min(8, len(wal))], err)
	}
	checkDatabase(t, dir)
}

// writeLegacyCatalog rewrites catalog.json as the version before
// checksums wrote it.
func writeLegacyCatalog(t *testing.T, dir string) {
	t.Helper()
	sc := readTestCatalog(t, dir)
	raw, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = 1
	for _, tb := range m["tables"].([]any) {
		for _, p := range tb.(map[string]any)["parts"].([]any) {
			segs, _ := p.([]any) // nil: an empty partition
			for i, seg := range segs {
				segs[i] = seg.(map[string]any)["file"]
			}
		}
	}
	if raw, err = json.MarshalIndent(m, "", " "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeLegacyLog rewrites wal.log as the first format wrote the three
// single-row INSERTs into table logged: entries of the table's OID and an
// Arrow IPC stream of the rows, without the second length.
func writeLegacyLog(t *testing.T, dir string) {
	t.Helper()
	lg := walEntries(t, dir)
	var oid uint32
	for _, tb := range readTestCatalog(t, dir).Tables {
		if tb.Name == "logged" {
			oid = tb.OID
		}
	}
	out := make([]byte, walHeaderSizeV1)
	copy(out, walMagicV1)
	binary.LittleEndian.PutUint64(out[8:], lg.Gen)
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	for v := int32(1); v <= 3; v++ {
		b := array.NewInt32Builder(memory.NewGoAllocator())
		b.Append(v)
		col := b.NewArray()
		rec := array.NewRecord(schema, []arrow.Array{col}, 1)
		var buf bytes.Buffer
		buf.Write(binary.LittleEndian.AppendUint32(nil, oid))
		w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		w.Close()
		rec.Release()
		col.Release()
		b.Release()
		payload := buf.Bytes()
		out = binary.LittleEndian.AppendUint32(out, uint32(len(payload)))
		out = binary.LittleEndian.AppendUint32(out, storage.Checksum(payload))
		out = append(out, payload...)
	}
	if err := os.WriteFile(filepath.Join(dir, "wal.log"), out, 0o644); err != nil {
		t.Fatal(err)
	}
}
