package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// The write-ahead log keeps small writes (an ORM's INSERT, UPDATE or
// DELETE of a row, pgbench's transactions, a short COPY) from writing
// segments and a new catalog each: what changed is appended to wal.log
// and fsynced (layoutlog.go), and only a checkpoint (CHECKPOINT, a
// statement that changes the catalog, a change too large for the log, or
// a log grown past walCheckpointBytes) turns it into segments.
//
//	wal.log = "WEFTWAL3" generation:u64 crc32c(magic, generation):u32 0:u32
//	          entry*
//	entry   = length:u32 ^length:u32 crc32c(payload):u32 payload
//	payload = 'L' layout entry (layoutlog.go)
//
// Logs of format 2 ("WEFTWAL2", entries of a table oid:u32 and an Arrow
// IPC stream of appended batches) are replayed as appends and then
// checkpointed.
//
// The catalog names the generation of the log that continues it. A
// checkpoint writes the catalog with the next generation and then starts
// an empty log of that generation, so a crash between the two leaves an
// old log that open ignores (its rows are in the segments).
//
// The file is allocated ahead in chunks of zeros (groupcommit.go), so
// that a commit's fdatasync does not change its size: the entries end
// where the zeros begin.
//
// Damage is an error, never a silent loss: the only thing open cuts off
// is a torn final entry (a crash during the append, never acknowledged):
// one whose declared length runs past the end of the file (its length is
// stored twice, so a damaged length cannot pass for a torn entry), or a
// bad one on the zeros allocated ahead that shows what an interrupted
// write leaves there (tornOnZeros). A bad checksum anywhere else, a
// damaged header, a log of a later generation than the catalog's, or no
// log at all fails the open with XX001.
//
// Logs of the first format ("WEFTWAL1", no header checksum, entries
// without the second length) are still read, and replaced by a new one.
const (
	walMagic           = "WEFTWAL3"
	walMagicV2         = "WEFTWAL2"
	walHeaderSize      = 24
	walEntryHeader     = 12
	walMagicV1         = "WEFTWAL1"
	walHeaderSizeV1    = 16
	walEntryHeaderV1   = 8
	walCheckpointBytes = 64 << 20 // a longer log is folded into segments
)

var walCRC = crc32.MakeTable(crc32.Castagnoli)

type wal struct {
	f   *os.File
	gen uint64
	// size is how much of the file is written and synced; end is where
	// the entries queued for the next flush will end (groupcommit.go);
	// room is the file's size: after size it holds zeros, written ahead
	// so that a commit's sync need not change the file's size (changed
	// only under flushMu)
	size, end, room int64
}

func (st *Store) walPath() string { return filepath.Join(st.dir, "wal.log") }

// openWAL replays the log of generation gen (giving each entry's rows to
// replay) and opens it for appending; an older log (its rows are in
// segments) is replaced by an empty one. It reports a log of the earlier
// format that held rows: those must be checkpointed at once.
func (st *Store) openWAL(gen uint64, mem memory.Allocator, replay Replayer) (bool, error) {
	path := st.walPath()
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, DataCorrupted("write-ahead log %s is missing: catalog.json continues in its generation %d, so appends acknowledged since the last checkpoint may be lost", path, gen).
			WithHint("Nothing was changed. Restore wal.log from a backup of the same moment as catalog.json.")
	}
	if err != nil {
		return false, sqlerr.New(sqlerr.IOError, "could not read %s: %v", path, err)
	}
	lg, err := ParseLogHeader(raw)
	if err != nil {
		return false, DataCorrupted("write-ahead log %s is damaged: %v", path, err)
	}
	switch {
	case lg.Gen < gen:
		return false, st.resetWAL(gen)
	case lg.Gen > gen:
		return false, DataCorrupted("write-ahead log %s is of generation %d, later than the %d catalog.json names: the catalog is older than the log", path, lg.Gen, gen)
	}
	if err := lg.Scan(raw); err != nil {
		return false, DataCorrupted("write-ahead log %s is damaged: %v", path, err)
	}
	ids := map[string]arrow.Record{}
	for rec, refs := range st.segments {
		ids["s:"+refs[0].File] = rec
	}
	for _, e := range lg.Entries {
		var err error
		if lg.version < 3 {
			err = replayEntry(e.Payload, mem, replay.Append)
		} else if len(e.Payload) > 0 && e.Payload[0] == 'L' {
			err = st.replayLayout(gen, e.Off, e.Payload, mem, ids, replay.Replace)
		} else {
			err = fmt.Errorf("entry of unknown kind")
		}
		if seg, ok := err.(segmentError); ok {
			return false, seg.err // a segment the entry edits (the log is sound)
		}
		if err != nil {
			return false, DataCorrupted("write-ahead log %s, entry at byte %d: %v", path, e.Off, err)
		}
	}
	if lg.version < 3 {
		// an earlier format cannot take new entries: store the rows (the
		// commit starts a new log) or start an empty log
		if len(lg.Entries) > 0 {
			return true, nil
		}
		return false, st.resetWAL(gen)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return false, err
	}
	// cut off a torn tail so later entries follow the last good one (the
	// zeros allocated ahead stay)
	if lg.Torn > 0 {
		if err := f.Truncate(lg.End); err != nil {
			f.Close()
			return false, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return false, err
		}
	}
	if _, err := f.Seek(lg.End, io.SeekStart); err != nil {
		f.Close()
		return false, err
	}
	st.wal = &wal{f: f, gen: gen, size: lg.End, end: lg.End, room: lg.End + lg.Zeros}
	return false, nil
}

// Log is what a log file holds (ParseLogHeader, then Scan).
type Log struct {
	Gen     uint64
	v1      bool // the first format
	version int  // 1, 2 (entries are appends) or 3 (layout entries)
	Entries []LogEntry
	End     int64 // where the last whole entry ends
	Torn    int64 // bytes of a torn final entry (and zeros) after End
	Zeros   int64 // bytes of zeros allocated ahead after End (no torn entry)
}

// LogEntry is one whole entry: where it starts in the file, and its
// payload (table OID, then an Arrow IPC stream of the appended batches).
type LogEntry struct {
	Off     int64
	Payload []byte
}

// LogEntryHeader is the size of an entry's header (length twice, CRC).
const LogEntryHeader = walEntryHeader

// Checksum is the CRC-32C the store puts on catalogs, segments and log
// entries.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, walCRC) }

func walHeader(gen uint64) []byte {
	h := make([]byte, walHeaderSize)
	copy(h, walMagic)
	binary.LittleEndian.PutUint64(h[8:], gen)
	binary.LittleEndian.PutUint32(h[16:], crc32.Checksum(h[:16], walCRC))
	return h
}

// parseWALHeader reads the header at the start of raw.
func ParseLogHeader(raw []byte) (*Log, error) {
	switch {
	case len(raw) >= 8 && string(raw[:8]) == walMagic:
		if len(raw) < walHeaderSize {
			return nil, fmt.Errorf("%d bytes, shorter than its header", len(raw))
		}
		if got, want := crc32.Checksum(raw[:16], walCRC), binary.LittleEndian.Uint32(raw[16:20]); got != want {
			return nil, fmt.Errorf("header checksum %08x, the file says %08x", got, want)
		}
		return &Log{Gen: binary.LittleEndian.Uint64(raw[8:16]), End: walHeaderSize, version: 3}, nil
	case len(raw) >= 8 && string(raw[:8]) == walMagicV2:
		if len(raw) < walHeaderSize {
			return nil, fmt.Errorf("%d bytes, shorter than its header", len(raw))
		}
		if got, want := crc32.Checksum(raw[:16], walCRC), binary.LittleEndian.Uint32(raw[16:20]); got != want {
			return nil, fmt.Errorf("header checksum %08x, the file says %08x", got, want)
		}
		return &Log{Gen: binary.LittleEndian.Uint64(raw[8:16]), End: walHeaderSize, version: 2}, nil
	case len(raw) >= 8 && string(raw[:8]) == walMagicV1:
		if len(raw) < walHeaderSizeV1 {
			return nil, fmt.Errorf("%d bytes, shorter than its header", len(raw))
		}
		return &Log{Gen: binary.LittleEndian.Uint64(raw[8:16]), v1: true, End: walHeaderSizeV1, version: 1}, nil
	}
	return nil, errors.New("its header is not a write-ahead log's")
}

// Scan reads the entries after the header: whole ones with good
// checksums, then at most a torn final entry, then the zeros the log
// allocated ahead (see tornOnZeros for how a torn entry is told from a
// damaged one).
func (lg *Log) Scan(raw []byte) error {
	head := int64(walEntryHeader)
	if lg.v1 {
		head = walEntryHeaderV1
	}
	off := lg.End
	for off < int64(len(raw)) {
		payload, end, err := lg.entryAt(raw, off, head)
		if err == nil {
			lg.Entries = append(lg.Entries, LogEntry{Off: off, Payload: payload})
			off = end
			continue
		}
		switch {
		case allZero(raw[off:]):
			lg.Zeros = int64(len(raw)) - off // room allocated ahead
		case err == errPastEnd || tornOnZeros(raw, off, end):
			lg.Torn = int64(len(raw)) - off
		default:
			return err
		}
		break
	}
	lg.End = off
	return nil
}

// errPastEnd is an entry that runs past the end of the file: torn while
// it was written.
var errPastEnd = errors.New("entry runs past the end of the log")

// entryAt reads the entry at off: its payload and where it ends, or why
// it is not a whole entry (end is then where its damage stops: its
// header, or its declared length).
func (lg *Log) entryAt(raw []byte, off, head int64) (payload []byte, end int64, err error) {
	rest := raw[off:]
	if int64(len(rest)) < head {
		return nil, int64(len(raw)), errPastEnd // torn within its length and checksum
	}
	n := binary.LittleEndian.Uint32(rest[0:4])
	if !lg.v1 && binary.LittleEndian.Uint32(rest[4:8]) != ^n {
		return nil, off + head, fmt.Errorf("entry at byte %d: its length field is damaged", off)
	}
	if int64(n) > int64(len(rest))-head {
		return nil, int64(len(raw)), errPastEnd
	}
	end = off + head + int64(n)
	if n < 4 {
		return nil, end, fmt.Errorf("entry at byte %d: length %d is too short", off, n)
	}
	payload = rest[head : head+int64(n)]
	if got, want := crc32.Checksum(payload, walCRC), binary.LittleEndian.Uint32(rest[head-4:head]); got != want {
		return nil, end, fmt.Errorf("entry at byte %d: checksum %08x, the entry says %08x", off, got, want)
	}
	return payload, end, nil
}

// sectorSize is the unit in which a disk persists a write: a crash in
// the middle of one leaves each sector of it either written or as it was.
const sectorSize = 512

// tornOnZeros reports whether the bad entry at off (its damage ending at
// end) is an append a crash interrupted on the zeros the log allocated
// ahead, rather than damage. Such an append was never acknowledged (the
// sync it waited for did not finish), and its write left some sectors as
// they were: zeros. So it counts as torn when
//
//   - nothing but zeros follows it (no later entry: an acknowledged one
//     after it would mean it was synced, so damaged since), and
//   - a stretch of its bytes from a sector's start (or its own) to that
//     sector's end (or the file's) is all zeros, more than the four zero
//     bytes every Arrow stream ends with.
//
// Anything else, such as a flipped bit in the last entry, is damage
// (XX001), never a silent cut. What this cannot tell apart is damage that
// both strikes the last acknowledged entry and zeros whole sectors of it;
// and an interrupted append whose later sectors reached the disk before
// an earlier one is reported as damage, not cut.
func tornOnZeros(raw []byte, off, end int64) bool {
	if end > int64(len(raw)) || !allZero(raw[end:]) {
		return false
	}
	const minStretch = 5
	for s := off / sectorSize * sectorSize; s < end; s += sectorSize {
		lo, hi := max(s, off), min(s+sectorSize, int64(len(raw)))
		if min(hi, end)-lo >= minStretch && allZero(raw[lo:hi]) {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// replayEntry decodes a log entry's batches and gives them to replay.
func replayEntry(payload []byte, mem memory.Allocator, replay func(oid uint32, recs []arrow.Record) error) error {
	oid := binary.LittleEndian.Uint32(payload[:4])
	// an entry holds whole appends, a single large value included: its
	// own length is the limit on what a batch in it can take
	limit := int64(len(payload))
	r, err := ipc.NewReader(bytes.NewReader(payload[4:]), ipc.WithAllocator(mem), ipc.WithBodySizeLimit(limit), ipc.WithMetadataSizeLimit(limit))
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
	for r.Next() {
		rec := r.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		return err
	}
	return replay(oid, recs)
}

// resetWAL starts an empty log of generation gen (atomically replacing the
// old one).
func (st *Store) resetWAL(gen uint64) error {
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
	st.wal = &wal{f: f, gen: gen, size: walHeaderSize, end: walHeaderSize, room: walHeaderSize}
	return nil
}

// walFailed cuts a failed append back off the log (a partial entry would
// hide every later one) and stops using it until the next checkpoint: the
// durable layouts already count the entries that did not make it, and
// entries queued after them were written as differences from those.
func (st *Store) walFailed(w *wal, err error) error {
	w.f.Truncate(w.size)
	w.f.Close()
	if st.wal == w {
		st.wal = nil
	}
	return sqlerr.New(sqlerr.DiskFull, "could not write to the write-ahead log: %v", err)
}

// LogHoldsRows reports whether the log holds appends not yet in segments
// (closing a database checkpoints them).
func (st *Store) LogHoldsRows() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.wal != nil && st.wal.end > walHeaderSize
}
