package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Opening a data directory never deletes what it cannot account for:
//
//   - A directory without catalog.json is a new database only when it
//     holds nothing the store writes (no segment, no module, no log with
//     entries or of a later generation). Otherwise the catalog was lost,
//     and opening fails with every file left in place. A new database
//     writes its first catalog at once, so from then on a missing catalog
//     always means damage.
//   - Only after the catalog and every segment it names were read does
//     cleanup remove files: temporary files the store writes, and segment
//     files (data/<oid>/<n>.arrow) the catalog does not name, numbered at
//     most the catalog's next_segment (so written before it). Anything
//     else is left alone.

// segmentName parses "<n>.arrow" (suffix "" ) or "<n>.arrow.tmp" (suffix
// ".tmp") as the store names segment files, and "<n>.index" and
// "<n>.index.tmp", index files, numbered with them (indexfile.go).
func segmentName(base, suffix string) (uint64, bool) {
	num, ok := strings.CutSuffix(base, ".arrow"+suffix)
	if !ok {
		num, ok = strings.CutSuffix(base, ".index"+suffix)
	}
	if !ok || num == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil && fmt.Sprint(n) == num
}

// isTableDir reports a data/ subdirectory named by a table OID.
func isTableDir(name string) bool {
	n, err := strconv.ParseUint(name, 10, 32)
	return err == nil && fmt.Sprint(n) == name
}

// segmentFile is a file in a table directory named as a segment.
type segmentFile struct {
	rel string // under data/, with slashes
	num uint64
	tmp bool
}

// segmentFiles lists the files under data/ named as the store names
// segments (and their temporary files), and reports whether data/ holds
// any other file.
func (st *Store) segmentFiles() ([]segmentFile, bool, error) {
	data := filepath.Join(st.dir, "data")
	dirs, err := os.ReadDir(data)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var out []segmentFile
	other := false
	for _, d := range dirs {
		if !d.IsDir() || !isTableDir(d.Name()) {
			other = true
			continue
		}
		files, err := os.ReadDir(filepath.Join(data, d.Name()))
		if err != nil {
			return nil, false, err
		}
		for _, f := range files {
			rel := d.Name() + "/" + f.Name()
			if n, ok := segmentName(f.Name(), ""); ok && f.Type().IsRegular() {
				out = append(out, segmentFile{rel: rel, num: n})
			} else if n, ok := segmentName(f.Name(), ".tmp"); ok && f.Type().IsRegular() {
				out = append(out, segmentFile{rel: rel, num: n, tmp: true})
			} else {
				other = true
			}
		}
	}
	return out, other, nil
}

// storedData names something in the directory only a database that had a
// catalog could have written ("" when there is none).
func (st *Store) storedData() (string, error) {
	segs, other, err := st.segmentFiles()
	if err != nil {
		return "", err
	}
	for _, s := range segs {
		if !s.tmp {
			return "data/" + s.rel, nil
		}
	}
	if other {
		return "files under data/", nil
	}
	mods, err := os.ReadDir(filepath.Join(st.dir, "modules"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	for _, m := range mods {
		if !strings.HasSuffix(m.Name(), ".tmp") {
			return "modules/" + m.Name(), nil
		}
	}
	raw, err := os.ReadFile(st.walPath())
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !isEmptyFirstLog(raw) {
		return "wal.log", nil
	}
	return "", nil
}

// isEmptyFirstLog reports a log a new database starts with: a header of
// generation 0 and no entries.
func isEmptyFirstLog(raw []byte) bool {
	lg, err := ParseLogHeader(raw)
	return err == nil && lg.Gen == 0 && lg.Scan(raw) == nil && len(lg.Entries) == 0 && lg.Torn == 0
}

// initialize makes dir a new, empty database, unless it holds data a lost
// catalog would have named.
func (st *Store) initialize() error {
	found, err := st.storedData()
	if err != nil {
		return fmt.Errorf("data directory %s: %w", st.dir, err)
	}
	if found != "" {
		return DataCorrupted("data directory %s has no catalog.json, but holds %s: the catalog is lost, and opening it as a new database would lose the data", st.dir, found).
			WithHint("Nothing was changed. Restore catalog.json from a backup, or move the directory away to start an empty database.")
	}
	if err := st.removeTemporaries(); err != nil {
		return err
	}
	// the log first: a crash before the catalog lands leaves a new
	// directory, one after it a catalog whose log is stale
	if err := st.resetWAL(0); err != nil {
		return err
	}
	return nil
}

// removeTemporaries removes the temporary files an interrupted write of
// the store leaves (and only those).
func (st *Store) removeTemporaries() error {
	for _, name := range []string{"catalog.json.tmp", "wal.log.tmp"} {
		if err := removeIfExists(filepath.Join(st.dir, name)); err != nil {
			return err
		}
	}
	mods, err := os.ReadDir(filepath.Join(st.dir, "modules"))
	if err != nil {
		return err
	}
	for _, m := range mods {
		if strings.HasSuffix(m.Name(), ".wasm.tmp") {
			if err := removeIfExists(filepath.Join(st.dir, "modules", m.Name())); err != nil {
				return err
			}
		}
	}
	segs, _, err := st.segmentFiles()
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s.tmp {
			if err := removeIfExists(filepath.Join(st.dir, "data", filepath.FromSlash(s.rel))); err != nil {
				return err
			}
		}
	}
	return nil
}

// cleanup runs once the catalog and its segments were read: it removes
// temporary files and the segment files the catalog does not name that
// were written before it (numbered at most nextSeg). It returns the
// highest segment number on disk, so that new segments never take the
// name of a file left in place.
func (st *Store) cleanup(keep map[string]bool, nextSeg uint64) (uint64, error) {
	if err := st.removeTemporaries(); err != nil {
		return 0, err
	}
	segs, _, err := st.segmentFiles()
	if err != nil {
		return 0, err
	}
	highest := nextSeg
	for _, s := range segs {
		switch {
		case s.tmp || keep[s.rel]:
		case s.num <= nextSeg:
			if err := removeIfExists(filepath.Join(st.dir, "data", filepath.FromSlash(s.rel))); err != nil {
				return 0, err
			}
		default:
			highest = max(highest, s.num) // left by a commit that never landed
		}
	}
	return highest, nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
