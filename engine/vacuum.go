package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
)

// vacuum runs VACUUM and ANALYZE. VACUUM compacts tables: each
// partition's batches are merged into batches of the configured size
// (fewer, larger segments on disk). ANALYZE (alone or as VACUUM ANALYZE)
// takes the planner's statistics.
func (s *Session) vacuum(st *pg.VacuumStmt) (*Result, error) {
	var tables []*catalog.Table
	if len(st.Rels) == 0 {
		for _, sc := range s.db.cat.Schemas() {
			for _, t := range sc.Tables {
				tables = append(tables, t)
			}
		}
	}
	for _, r := range st.Rels {
		rel := r.GetVacuumRelation().GetRelation()
		if rel == nil {
			continue
		}
		t, err := s.lookupTable(rel)
		if err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	analyze := !st.IsVacuumcmd || hasDefElem(st.Options, "analyze")
	for _, t := range tables {
		if st.IsVacuumcmd {
			if err := s.compact(t); err != nil {
				return nil, err
			}
		}
		if analyze {
			// statistics for the planner: kept in memory on the table
			// (not stored), taken again by the planner when the row
			// count drifts
			snap := t.Snapshot()
			t.Analyze(snap)
			snap.Release()
		}
	}
	if st.IsVacuumcmd {
		return &Result{Tag: "VACUUM"}, nil
	}
	return &Result{Tag: "ANALYZE"}, nil
}

func (s *Session) compact(t *catalog.Table) error {
	t.Lock()
	defer t.Unlock()
	cur := t.Current()
	if err := cur.Load(); err != nil {
		return err
	}
	if cur == nil {
		return nil
	}
	parts := make([][]arrow.Record, len(cur.Parts))
	for p, recs := range cur.Parts {
		if len(recs) <= 1 {
			for _, r := range recs {
				r.Retain()
			}
			parts[p] = append(parts[p], recs...)
			continue
		}
		all, err := exec.Concat(s.db.opts.Mem, t.ArrowSchema(), recs)
		if err != nil {
			for _, ps := range parts {
				exec.ReleaseRecords(ps)
			}
			return sqlerr.Wrap(err)
		}
		size := int64(s.db.opts.BatchSize)
		for off := int64(0); off < all.NumRows(); off += size {
			parts[p] = append(parts[p], all.NewSlice(off, min(off+size, all.NumRows())))
		}
		all.Release()
	}
	t.Replace(parts)
	return nil
}

// hasDefElem reports whether a statement's option list names opt.
func hasDefElem(opts []*pg.Node, opt string) bool {
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil && d.Defname == opt {
			return true
		}
	}
	return false
}
