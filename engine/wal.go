package engine

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
//	wal.log = "WEFTWAL2" generation:u64 crc32c(magic, generation):u32 0:u32
//	          entry*
//	entry   = length:u32 ^length:u32 crc32c(payload):u32 payload
//	payload = table oid:u32, Arrow IPC stream of the appended batches
//
// The catalog names the generation of the log that continues it. A
// checkpoint writes the catalog with the next generation and then starts
// an empty log of that generation, so a crash between the two leaves an
// old log that open ignores (its rows are in the segments).
//
// Damage is an error, never a silent loss: the only thing open cuts off
// is a torn final entry (a crash during the append, never acknowledged),
// one whose declared length runs past the end of the file (its length is
// stored twice, so a damaged length cannot pass for a torn entry). A bad
// checksum anywhere, a damaged header, a log of a later generation than
// the catalog's, or no log at all fails the open with XX001.
//
// Logs of the earlier format ("WEFTWAL1", no header checksum, entries
// without the second length) are still read, and replaced by a new one.
const (
	walMagic           = "WEFTWAL2"
	walHeaderSize      = 24
	walEntryHeader     = 12
	walMagicV1         = "WEFTWAL1"
	walHeaderSizeV1    = 16
	walEntryHeaderV1   = 8
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
// rows to its table) and opens it for appending; an older log (its rows
// are in segments) is replaced by an empty one.
func (st *store) openWAL(db *DB, gen uint64) error {
	path := st.walPath()
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return dataCorrupted("write-ahead log %s is missing: catalog.json continues in its generation %d, so appends acknowledged since the last checkpoint may be lost", path, gen).
			WithHint("Nothing was changed. Restore wal.log from a backup of the same moment as catalog.json.")
	}
	if err != nil {
		return sqlerr.New(sqlerr.IOError, "could not read %s: %v", path, err)
	}
	lg, err := parseWALHeader(raw)
	if err != nil {
		return dataCorrupted("write-ahead log %s is damaged: %v", path, err)
	}
	switch {
	case lg.gen < gen:
		return st.resetWAL(gen)
	case lg.gen > gen:
		return dataCorrupted("write-ahead log %s is of generation %d, later than the %d catalog.json names: the catalog is older than the log", path, lg.gen, gen)
	}
	if err := lg.scan(raw); err != nil {
		return dataCorrupted("write-ahead log %s is damaged: %v", path, err)
	}
	for _, e := range lg.entries {
		if err := replayWALEntry(db, e.payload); err != nil {
			return dataCorrupted("write-ahead log %s, entry at byte %d: %v", path, e.off, err)
		}
	}
	if lg.v1 {
		// the old format cannot take new entries: store the rows (the
		// commit starts a new log) or start an empty log
		if len(lg.entries) > 0 {
			return st.commit(db)
		}
		return st.resetWAL(gen)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	// cut off a torn tail so later entries follow the last good one
	if lg.end < int64(len(raw)) {
		if err := f.Truncate(lg.end); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Seek(lg.end, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	st.wal = &wal{f: f, gen: gen, size: lg.end}
	return nil
}

// walLog is what a log file holds.
type walLog struct {
	gen     uint64
	v1      bool // the earlier format
	entries []walEntry
	end     int64 // where the last whole entry ends
	torn    int64 // bytes of a torn final entry after end
}

type walEntry struct {
	off     int64
	payload []byte
}

func walHeader(gen uint64) []byte {
	h := make([]byte, walHeaderSize)
	copy(h, walMagic)
	binary.LittleEndian.PutUint64(h[8:], gen)
	binary.LittleEndian.PutUint32(h[16:], crc32.Checksum(h[:16], walCRC))
	return h
}

// parseWALHeader reads the header at the start of raw.
func parseWALHeader(raw []byte) (*walLog, error) {
	switch {
	case len(raw) >= 8 && string(raw[:8]) == walMagic:
		if len(raw) < walHeaderSize {
			return nil, fmt.Errorf("%d bytes, shorter than its header", len(raw))
		}
		if got, want := crc32.Checksum(raw[:16], walCRC), binary.LittleEndian.Uint32(raw[16:20]); got != want {
			return nil, fmt.Errorf("header checksum %08x, the file says %08x", got, want)
		}
		return &walLog{gen: binary.LittleEndian.Uint64(raw[8:16]), end: walHeaderSize}, nil
	case len(raw) >= 8 && string(raw[:8]) == walMagicV1:
		if len(raw) < walHeaderSizeV1 {
			return nil, fmt.Errorf("%d bytes, shorter than its header", len(raw))
		}
		return &walLog{gen: binary.LittleEndian.Uint64(raw[8:16]), v1: true, end: walHeaderSizeV1}, nil
	}
	return nil, errors.New("its header is not a write-ahead log's")
}

// scan reads the entries after the header: whole ones with good
// checksums, then at most a torn final entry.
func (lg *walLog) scan(raw []byte) error {
	head := int64(walEntryHeader)
	if lg.v1 {
		head = walEntryHeaderV1
	}
	off := lg.end
	for off < int64(len(raw)) {
		rest := raw[off:]
		if int64(len(rest)) < head {
			break // torn within its length and checksum
		}
		n := binary.LittleEndian.Uint32(rest[0:4])
		if !lg.v1 && binary.LittleEndian.Uint32(rest[4:8]) != ^n {
			return fmt.Errorf("entry at byte %d: its length field is damaged", off)
		}
		if int64(n) > int64(len(rest))-head {
			break // runs past the end: torn while it was written
		}
		if n < 4 {
			return fmt.Errorf("entry at byte %d: length %d is too short", off, n)
		}
		payload := rest[head : head+int64(n)]
		if got, want := crc32.Checksum(payload, walCRC), binary.LittleEndian.Uint32(rest[head-4:head]); got != want {
			return fmt.Errorf("entry at byte %d: checksum %08x, the entry says %08x", off, got, want)
		}
		lg.entries = append(lg.entries, walEntry{off: off, payload: payload})
		off += head + int64(n)
	}
	lg.end, lg.torn = off, int64(len(raw))-off
	return nil
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
	if err := st.writeAtomic(st.walPath(), walHeader(gen)); err != nil {
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
	buf.Write(make([]byte, walEntryHeader+4)) // length twice, crc, oid
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
	n := int64(len(entry) - walEntryHeader)
	if n > math.MaxUint32 {
		return false, nil // too large for an entry's length: a full commit stores it
	}
	binary.LittleEndian.PutUint32(entry[walEntryHeader:], t.OID)
	binary.LittleEndian.PutUint32(entry[0:4], uint32(n))
	binary.LittleEndian.PutUint32(entry[4:8], ^uint32(n))
	binary.LittleEndian.PutUint32(entry[8:12], crc32.Checksum(entry[walEntryHeader:], walCRC))
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
