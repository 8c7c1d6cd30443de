package weft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// The write-ahead log keeps small appends (the single-row INSERTs an ORM
// issues, a short COPY) from writing a segment and a new catalog each:
// the rows are appended to wal.log and fsynced, and only a checkpoint
// (CHECKPOINT, a statement that is not a small append, or a log grown
// past walCheckpointBytes) turns them into segments.
//
//	wal.log = "WEFTWAL1" generation:u64 entry*
//	entry   = length:u32 crc32c(payload):u32 payload
//	payload = table oid:u32, Arrow IPC stream of the appended batches
//
// The catalog names the generation of the log that continues it. A
// checkpoint writes the catalog with the next generation and then starts
// an empty log of that generation, so a crash between the two leaves an
// old log that open ignores (its rows are in the segments). A torn last
// entry (a crash during the append, never acknowledged) fails its CRC and
// is cut off.
const (
	walMagic           = "WEFTWAL1"
	walHeaderSize      = 16
	walMaxRows         = 16384    // larger appends go straight to segments
	walCheckpointBytes = 64 << 20 // a longer log is folded into segments
)

var walCRC = crc32.MakeTable(crc32.Castagnoli)

type wal struct {
	f    *os.File
	gen  uint64
	size int64
}

func (st *store) walPath() string { return filepath.Join(st.dir, "wal.log") }

// openWAL replays the log of generation gen into db (appending each entry's
// rows to its table) and opens it for appending; a log of another
// generation is replaced by an empty one.
func (st *store) openWAL(db *DB, gen uint64) error {
	raw, err := os.ReadFile(st.walPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(raw) < walHeaderSize || string(raw[:8]) != walMagic || binary.LittleEndian.Uint64(raw[8:16]) != gen {
		return st.resetWAL(gen)
	}
	off := int64(walHeaderSize)
	for {
		payload, n := nextWALEntry(raw[off:])
		if payload == nil {
			break
		}
		if err := replayWALEntry(db, payload); err != nil {
			return fmt.Errorf("data directory %s: write-ahead log at byte %d: %w", st.dir, off, err)
		}
		off += n
	}
	f, err := os.OpenFile(st.walPath(), os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	// cut off a torn tail so later entries follow the last good one
	if off < int64(len(raw)) {
		if err := f.Truncate(off); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	st.wal = &wal{f: f, gen: gen, size: off}
	return nil
}

// nextWALEntry returns the payload of the entry at the start of b and the
// entry's length, or nil at the end of the log or at a torn entry.
func nextWALEntry(b []byte) ([]byte, int64) {
	if len(b) < 8 {
		return nil, 0
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	sum := binary.LittleEndian.Uint32(b[4:8])
	if uint64(n) > uint64(len(b)-8) || n < 4 {
		return nil, 0
	}
	payload := b[8 : 8+n]
	if crc32.Checksum(payload, walCRC) != sum {
		return nil, 0
	}
	return payload, int64(8 + n)
}

func replayWALEntry(db *DB, payload []byte) error {
	oid := binary.LittleEndian.Uint32(payload[:4])
	t := db.cat.TableByOID(oid)
	if t == nil {
		return fmt.Errorf("table with oid %d does not exist", oid)
	}
	// an entry holds whole appends, a single large value included: its
	// own length is the limit on what a batch in it can take
	limit := int64(len(payload))
	r, err := ipc.NewReader(bytes.NewReader(payload[4:]), ipc.WithAllocator(db.opts.Mem), ipc.WithBodySizeLimit(limit), ipc.WithMetadataSizeLimit(limit))
	if err != nil {
		return err
	}
	defer r.Release()
	var recs []arrow.Record
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	schema := t.ArrowSchema()
	for r.Next() {
		rec := r.Record()
		if int(rec.NumCols()) != schema.NumFields() {
			return fmt.Errorf("table %s: entry has %d columns, table has %d", t.Name, rec.NumCols(), schema.NumFields())
		}
		recs = append(recs, arrayNewRecord(schema, rec.Columns(), rec.NumRows()))
	}
	if err := r.Err(); err != nil {
		return err
	}
	t.Lock()
	defer t.Unlock()
	cur := t.Current()
	if cur == nil {
		return fmt.Errorf("table %s has no data", t.Name)
	}
	parts, err := catalog.AppendParts(db.opts.Mem, cur, recs, db.opts.BatchSize)
	if err != nil {
		return err
	}
	t.Replace(parts)
	return nil
}

// resetWAL starts an empty log of generation gen (atomically replacing the
// old one).
func (st *store) resetWAL(gen uint64) error {
	if st.wal != nil {
		st.wal.f.Close()
		st.wal = nil
	}
	header := make([]byte, walHeaderSize)
	copy(header, walMagic)
	binary.LittleEndian.PutUint64(header[8:], gen)
	if err := st.writeAtomic(st.walPath(), header); err != nil {
		return err
	}
	f, err := os.OpenFile(st.walPath(), os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Seek(walHeaderSize, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	st.wal = &wal{f: f, gen: gen, size: walHeaderSize}
	return nil
}

// logAppend makes an append of recs to t durable through the log and then
// runs install (which puts the rows in the table) while no checkpoint can
// run, so a checkpoint sees the rows either in the table or in the log it
// supersedes, never both or neither. It reports false, having done nothing,
// when the append is too large for the log (or the log is unusable): the
// caller installs the rows and commits in full.
func (st *store) logAppend(t *catalog.Table, recs []arrow.Record, rows int64, install func()) (bool, error) {
	if rows > walMaxRows {
		return false, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.wal == nil || st.wal.size > walCheckpointBytes {
		return false, nil
	}
	var buf bytes.Buffer
	buf.Write(make([]byte, 12)) // length, crc, oid
	w := ipc.NewWriter(&buf, ipc.WithSchema(recs[0].Schema()))
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			w.Close()
			return false, err
		}
	}
	if err := w.Close(); err != nil {
		return false, err
	}
	entry := buf.Bytes()
	if int64(len(entry)-8) > math.MaxUint32 {
		return false, nil // too large for an entry's length: a full commit stores it
	}
	binary.LittleEndian.PutUint32(entry[8:12], t.OID)
	binary.LittleEndian.PutUint32(entry[0:4], uint32(len(entry)-8))
	binary.LittleEndian.PutUint32(entry[4:8], crc32.Checksum(entry[8:], walCRC))
	if err := st.quota.check(int64(len(entry))); err != nil {
		return false, st.walFailed(err)
	}
	if _, err := st.wal.f.Write(entry); err != nil {
		return false, st.walFailed(err)
	}
	if err := st.wal.f.Sync(); err != nil {
		return false, st.walFailed(err)
	}
	st.wal.size += int64(len(entry))
	install()
	return true, nil
}

// walFailed cuts a failed append back off the log (a partial entry would
// hide every later one) and reports the error.
func (st *store) walFailed(err error) error {
	if terr := st.wal.f.Truncate(st.wal.size); terr == nil {
		st.wal.f.Seek(st.wal.size, io.SeekStart)
	} else {
		// the log's end is unknown: stop using it until the next checkpoint
		st.wal.f.Close()
		st.wal = nil
	}
	return sqlerr.New(sqlerr.DiskFull, "could not write to the write-ahead log: %v", err)
}

// walHolds reports whether the log holds appends not yet in segments.
func (st *store) walHolds() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.wal != nil && st.wal.size > walHeaderSize
}
