package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/sql/sqlerr"
)

// CheckDataDir verifies the data directory dir without changing anything
// in it: the catalog's checksum, every segment file's checksum, size,
// readability, row count and column types against the catalog, every
// module's content hash, and every write-ahead log entry. It writes one
// line per file to out and returns how many problems it found; the error
// is for a directory it could not examine at all (missing, or open in a
// running server).
func CheckDataDir(dir string, out io.Writer) (int, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return 0, sqlerr.New(sqlerr.UndefinedFile, "%s is not a directory", dir)
	}
	unlock, err := shareLock(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	c := &checker{dir: dir, out: out, st: &Store{dir: dir}}
	c.run()
	fmt.Fprintf(out, "%d files checked, %d problems\n", c.files, c.problems)
	return c.problems, nil
}

// shareLock takes the directory's lock shared, so that no server has it
// open while it is checked (a missing LOCK file is not created).
func shareLock(dir string) (func(), error) {
	f, err := os.Open(filepath.Join(dir, "LOCK"))
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, sqlerr.New(sqlerr.ObjectInUse, "data directory %s is in use by a running server: stop it to check the directory", dir)
	}
	return func() { f.Close() }, nil
}

type checker struct {
	dir             string
	out             io.Writer
	st              *Store
	files, problems int
}

func (c *checker) ok(file, format string, args ...any) {
	c.files++
	fmt.Fprintf(c.out, "%s: ok, %s\n", file, fmt.Sprintf(format, args...))
}

func (c *checker) note(file, format string, args ...any) {
	fmt.Fprintf(c.out, "%s: %s\n", file, fmt.Sprintf(format, args...))
}

func (c *checker) damaged(file string, err error) {
	c.files++
	c.problems++
	msg := err.Error()
	var se *sqlerr.Error
	if errors.As(err, &se) {
		msg = fmt.Sprintf("%s (%s)", se.Message, se.Code)
	}
	fmt.Fprintf(c.out, "%s: DAMAGED: %s\n", file, msg)
}

func (c *checker) run() {
	sc, ok := c.checkCatalog()
	if !ok {
		return
	}
	keep, tables := c.checkSegments(sc)
	c.checkIndexes(sc, keep)
	c.checkStray(keep, sc.NextSeg)
	c.checkModules(sc)
	c.checkWAL(sc, tables)
}

// checkCatalog reads catalog.json; ok is false when there is nothing
// more to check against.
func (c *checker) checkCatalog() (*Catalog, bool) {
	raw, err := os.ReadFile(filepath.Join(c.dir, "catalog.json"))
	if errors.Is(err, os.ErrNotExist) {
		found, ferr := c.st.storedData()
		switch {
		case ferr != nil:
			c.damaged("catalog.json", ferr)
		case found != "":
			c.damaged("catalog.json", fmt.Errorf("missing, but the directory holds %s", found))
		default:
			c.note("catalog.json", "none: an empty directory, no database yet")
		}
		return nil, false
	}
	if err != nil {
		c.damaged("catalog.json", err)
		return nil, false
	}
	sc, legacy, err := DecodeCatalog(raw)
	if err != nil {
		c.damaged("catalog.json", err)
		return nil, false
	}
	segs := 0
	for _, t := range sc.Tables {
		for _, p := range t.Parts {
			segs += len(p)
		}
	}
	sum := "no checksum (written by an earlier version; the next open adds one)"
	if !legacy {
		sum = "checksum matches"
	}
	c.ok("catalog.json", "%s, %d tables, %d segments, log generation %d", sum, len(sc.Tables), segs, sc.WALGeneration)
	return sc, true
}

// checkSegments reads every segment the catalog names.
func (c *checker) checkSegments(sc *Catalog) (map[string]bool, map[uint32]*catalog.Table) {
	keep := map[string]bool{}
	tables := map[uint32]*catalog.Table{}
	mem := memory.NewGoAllocator()
	for _, t := range sc.Tables {
		tbl := &catalog.Table{Schema: t.Schema, Name: t.Name, OID: t.OID, Columns: t.Columns}
		tables[t.OID] = tbl
		schema := tbl.ArrowSchema()
		for _, p := range t.Parts {
			for i := range p {
				ref := &p[i]
				keep[ref.File] = true
				file := "data/" + ref.File
				rec, err := ReadSegmentFile(mem, c.dir, ref, schema, tbl.QualifiedName())
				if err != nil {
					c.damaged(file, err)
					continue
				}
				rec.Release()
				if ref.legacy {
					c.ok(file, "table %s, %d rows (no checksum in the catalog)", tbl.QualifiedName(), ref.Rows)
				} else {
					c.ok(file, "table %s, %d rows, checksum matches", tbl.QualifiedName(), ref.Rows)
				}
			}
		}
	}
	return keep, tables
}

// checkIndexes reads every node of every index file the catalog names
// (a damaged one is not lost data: open builds the index again).
func (c *checker) checkIndexes(sc *Catalog, keep map[string]bool) {
	for _, t := range sc.Tables {
		table := t.Schema + "." + t.Name
		for _, ref := range t.IndexFiles {
			keep[ref.File] = true
			file := "data/" + ref.File
			f, err := index.OpenFile(filepath.Join(c.dir, "data", filepath.FromSlash(ref.File)), ref.info(), indexDamage(table))
			if err == nil {
				err = walkIndexFile(f)
			}
			if err != nil {
				c.damaged(file, err)
				continue
			}
			c.ok(file, "index %s of table %s, %d entries, checksums match", ref.Def.Name, table, ref.Entries)
		}
	}
}

// walkIndexFile reads every node of f, returning the damage it meets.
func walkIndexFile(f *index.File) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	f.Tree().Ascend("", "", func(index.Entry) bool { return true })
	return nil
}

// checkStray lists segment-named files the catalog does not name.
func (c *checker) checkStray(keep map[string]bool, nextSeg uint64) {
	segs, _, err := c.st.segmentFiles()
	if err != nil {
		c.damaged("data", err)
		return
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].rel < segs[j].rel })
	for _, s := range segs {
		switch {
		case s.tmp:
			c.note("data/"+s.rel, "temporary file of an interrupted write (open removes it)")
		case keep[s.rel]:
		case s.num <= nextSeg:
			c.note("data/"+s.rel, "not in the catalog: superseded (open removes it)")
		default:
			c.note("data/"+s.rel, "not in the catalog: written by a commit that never completed (left in place)")
		}
	}
}

// checkModules compares each function's module file with its name (the
// hash of its content).
func (c *checker) checkModules(sc *Catalog) {
	seen := map[string]bool{}
	for _, f := range sc.Functions {
		if seen[f.Module] {
			continue
		}
		seen[f.Module] = true
		file := "modules/" + f.Module + ".wasm"
		code, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(file)))
		if err != nil {
			c.damaged(file, fmt.Errorf("function %s: %v", f.Name, err))
			continue
		}
		if err := checkModuleHash(code, f.Module); err != nil {
			c.damaged(file, err)
			continue
		}
		c.ok(file, "%d bytes, content matches its hash", len(code))
	}
}

// checkWAL reads the log and each entry's rows.
func (c *checker) checkWAL(sc *Catalog, tables map[uint32]*catalog.Table) {
	raw, err := os.ReadFile(filepath.Join(c.dir, "wal.log"))
	if errors.Is(err, os.ErrNotExist) {
		c.damaged("wal.log", fmt.Errorf("missing: the catalog continues in log generation %d, so acknowledged appends may be lost", sc.WALGeneration))
		return
	}
	if err != nil {
		c.damaged("wal.log", err)
		return
	}
	lg, err := ParseLogHeader(raw)
	if err != nil {
		c.damaged("wal.log", err)
		return
	}
	switch {
	case lg.Gen < sc.WALGeneration:
		c.ok("wal.log", "generation %d, older than the catalog's %d: its rows are in segments (open replaces it)", lg.Gen, sc.WALGeneration)
		return
	case lg.Gen > sc.WALGeneration:
		c.damaged("wal.log", fmt.Errorf("generation %d, later than the %d catalog.json names", lg.Gen, sc.WALGeneration))
		return
	}
	if err := lg.Scan(raw); err != nil {
		c.damaged("wal.log", err)
		return
	}
	rows := int64(0)
	for _, e := range lg.Entries {
		check := checkWALEntry
		if lg.version >= 3 {
			check = checkLayoutEntry
		}
		n, err := check(e.Payload, tables)
		if err != nil {
			c.damaged("wal.log", fmt.Errorf("entry at byte %d: %v", e.Off, err))
			return
		}
		rows += n
	}
	tail := ""
	if lg.Torn > 0 {
		tail = fmt.Sprintf("; a torn final entry of %d bytes, never acknowledged (open cuts it)", lg.Torn)
	}
	c.ok("wal.log", "generation %d, %d entries with %d rows, checksums match%s", lg.Gen, len(lg.Entries), rows, tail)
}

// checkWALEntry decodes an entry's rows against its table's columns.
func checkWALEntry(payload []byte, tables map[uint32]*catalog.Table) (int64, error) {
	oid := binary.LittleEndian.Uint32(payload[:4])
	t := tables[oid]
	if t == nil {
		return 0, fmt.Errorf("table with oid %d is not in the catalog", oid)
	}
	limit := int64(len(payload))
	r, err := ipc.NewReader(bytes.NewReader(payload[4:]), ipc.WithAllocator(memory.NewGoAllocator()), ipc.WithBodySizeLimit(limit), ipc.WithMetadataSizeLimit(limit))
	if err != nil {
		return 0, fmt.Errorf("table %s: %v", t.QualifiedName(), err)
	}
	defer r.Release()
	var rows int64
	schema := t.ArrowSchema()
	for r.Next() {
		if err := sameColumnTypes(r.Record().Schema(), schema); err != nil {
			return 0, fmt.Errorf("table %s: %v", t.QualifiedName(), err)
		}
		rows += r.Record().NumRows()
	}
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("table %s: %v", t.QualifiedName(), err)
	}
	return rows, nil
}

// checkLayoutEntry decodes a layout entry's description and its batches
// against their tables' columns (what it names of earlier entries and
// segments is checked by replaying it at open).
func checkLayoutEntry(payload []byte, tables map[uint32]*catalog.Table) (int64, error) {
	if len(payload) < 5 || payload[0] != 'L' {
		return 0, fmt.Errorf("not a layout entry")
	}
	n := int(binary.LittleEndian.Uint32(payload[1:5]))
	if 5+n > len(payload) {
		return 0, fmt.Errorf("its description runs past its end")
	}
	var entry layoutEntry
	if err := json.Unmarshal(payload[5:5+n], &entry); err != nil {
		return 0, err
	}
	streams, err := splitStreams(payload[5+n:], entry.Streams)
	if err != nil {
		return 0, err
	}
	var rows int64
	for _, lt := range entry.Tables {
		t := tables[lt.OID]
		if t == nil {
			return 0, fmt.Errorf("table with oid %d is not in the catalog", lt.OID)
		}
		for _, ops := range lt.Parts {
			for _, o := range ops {
				if o.Add == nil || o.Add.Stream < 0 {
					continue
				}
				if o.Add.Stream >= len(streams) {
					return 0, fmt.Errorf("table %s: names stream %d of %d", t.QualifiedName(), o.Add.Stream, len(streams))
				}
				rec, err := readStream(streams[o.Add.Stream], t.ArrowSchema(), memory.NewGoAllocator())
				if err != nil {
					return 0, fmt.Errorf("table %s: %v", t.QualifiedName(), err)
				}
				rows += rec.NumRows()
				rec.Release()
			}
		}
	}
	return rows, nil
}
