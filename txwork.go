package weft

import (
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/physical"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Inside a transaction block a session's writes go to private versions of
// the tables it writes: its own statements read them, other sessions keep
// reading the tables' committed data, and nothing reaches the disk. COMMIT
// installs the private versions together. A table another session changed
// meanwhile is merged when the block only appended to it (its new rows go
// on top of the other session's); a block that updated or deleted rows of
// such a table fails with 40001 and is rolled back, as the first committer
// wins.

// tableWork is a block's private version of one table.
type tableWork struct {
	base *catalog.Snapshot // the committed data the block started from
	data *catalog.Snapshot // the block's version
	// appended are the rows the block added, while it only added rows
	// (rewritten is set by anything else).
	appended  []arrow.Record
	rewritten bool
}

func (w *tableWork) release() {
	w.base.Release()
	w.data.Release()
	for _, r := range w.appended {
		r.Release()
	}
}

// clone copies w for a savepoint (every reference retained again).
func (w *tableWork) clone() *tableWork {
	c := &tableWork{base: w.base, data: w.data, appended: append([]arrow.Record{}, w.appended...), rewritten: w.rewritten}
	c.base.Retain()
	c.data.Retain()
	for _, r := range c.appended {
		r.Retain()
	}
	return c
}

// current is the data the session's statements see in t: the block's
// version, else the committed one (no new reference; writers hold t's
// lock while they use it).
func (s *Session) current(t *catalog.Table) *catalog.Snapshot {
	if s.tx != nil {
		if w := s.tx.work[t]; w != nil {
			return w.data
		}
	}
	return t.Current()
}

// tableData is current with a reference, for a query to read.
func (s *Session) tableData(t *catalog.Table) *catalog.Snapshot {
	if s.tx != nil {
		if w := s.tx.work[t]; w != nil {
			w.data.Retain()
			return w.data
		}
	}
	return t.Snapshot()
}

// installPrivate makes parts the block's version of t (the caller holds
// t's lock); appended are the rows added when that is all the statement
// did (nil for a rewrite).
func (s *Session) installPrivate(t *catalog.Table, parts [][]arrow.Record, appended []arrow.Record) {
	w := s.tx.work[t]
	if w == nil {
		w = &tableWork{base: t.Snapshot()}
		s.tx.work[t] = w
	} else {
		w.data.Release()
	}
	w.data = catalog.NewSnapshot(parts)
	switch {
	case appended == nil:
		w.rewritten = true
	case !w.rewritten:
		for _, r := range appended {
			r.Retain()
			w.appended = append(w.appended, r)
		}
	}
}

// install puts a statement's new data for t in place: privately inside a
// block, for everyone outside one.
func (s *Session) install(t *catalog.Table, parts [][]arrow.Record, appended []arrow.Record) {
	if s.tx != nil {
		s.installPrivate(t, parts, appended)
		return
	}
	t.Replace(parts)
	s.noteInstalled(t, false)
}

// commitWork installs the block's private versions and makes them
// durable, all or nothing.
func (s *Session) commitWork() error {
	var tables []*catalog.Table
	for t := range s.tx.work {
		if cur, _, ok := s.db.cat.Lookup(t.Schema, t.Name, nil); ok && cur == t {
			tables = append(tables, t) // (a table the block dropped is gone)
		}
	}
	if len(tables) == 0 {
		return nil
	}
	// lock in one order so that two committing blocks cannot deadlock
	sort.Slice(tables, func(i, j int) bool { return tables[i].OID < tables[j].OID })
	for _, t := range tables {
		t.Lock()
		defer t.Unlock()
	}
	added := map[*catalog.Table][]map[string]struct{}{}
	for _, t := range tables {
		w := s.tx.work[t]
		if t.Current() == w.base {
			continue
		}
		if w.rewritten {
			return sqlerr.New(sqlerr.SerializationFailure, "could not serialize access due to concurrent update").
				WithDetail("Table \"" + t.Name + "\" was changed by another session while this transaction updated or deleted its rows.").
				WithHint("The transaction was rolled back; run it again.")
		}
		// the block's rows join what was committed meanwhile: their keys
		// must be new there too
		keys, err := newKeys(t, t.Current(), w.appended)
		if err != nil {
			return err
		}
		added[t] = keys
	}
	previous := map[*catalog.Table]*catalog.Snapshot{}
	for _, t := range tables {
		w := s.tx.work[t]
		cur := t.Current()
		cur.Retain()
		previous[t] = cur
		if cur == w.base {
			t.Restore(w.data)
			continue
		}
		// only appends: the block's rows go on top of what was committed
		parts, err := catalog.AppendParts(s.db.opts.Mem, cur, w.appended, s.db.opts.BatchSize)
		if err != nil {
			s.restoreTables(previous)
			return err
		}
		t.Replace(parts)
		extendKeySets(t, cur, t.Current(), added[t])
	}
	if err := s.db.persist(); err != nil {
		s.restoreTables(previous)
		return err
	}
	releaseSnapshots(previous)
	return nil
}

// restoreTables puts back what commitWork replaced (the tables' locks are
// held) and lets go of the references.
func (s *Session) restoreTables(previous map[*catalog.Table]*catalog.Snapshot) {
	for t, snap := range previous {
		t.Restore(snap)
	}
	releaseSnapshots(previous)
}

func releaseWork(m map[*catalog.Table]*tableWork) {
	for _, w := range m {
		w.release()
	}
}

func cloneWork(m map[*catalog.Table]*tableWork) map[*catalog.Table]*tableWork {
	out := make(map[*catalog.Table]*tableWork, len(m))
	for t, w := range m {
		out[t] = w.clone()
	}
	return out
}

// newBuilder is a physical plan builder whose scans read what the
// session sees (its block's own versions of tables it wrote).
func (s *Session) newBuilder(env *exec.Env) *physical.Builder {
	b := physical.NewBuilder(env, s.params)
	b.TableData = s.tableData
	return b
}
