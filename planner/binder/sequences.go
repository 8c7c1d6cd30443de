package binder

import (
	"strings"
	"sync"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// SequenceState is a session's view of the sequences: currval and lastval
// are per session, and Persist stores the catalog when a sequence moves
// its restart point (set by the session; nil in memory-only use).
type SequenceState struct {
	Persist func() error

	// the partitions of one query may call nextval at once
	mu      sync.Mutex
	curr    map[uint32]int64
	last    int64
	hasLast bool
}

// note records a value nextval or setval gave: currval's for the
// sequence, and lastval's.
func (st *SequenceState) note(oid uint32, v int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.curr == nil {
		st.curr = map[uint32]int64{}
	}
	st.curr[oid], st.last, st.hasLast = v, v, true
}

func (st *SequenceState) current(oid uint32) (int64, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	v, ok := st.curr[oid]
	return v, ok
}

func (st *SequenceState) lastValue() (int64, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.last, st.hasLast
}

// Forget drops currval and lastval (DISCARD SEQUENCES).
func (st *SequenceState) Forget() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.curr, st.last, st.hasLast = nil, 0, false
}

// sequenceArg resolves nextval's argument: a regclass OID, or a name in
// text ('schema.seq').
func (b *Binder) sequenceArg(t types.T, d types.Datum) (*catalog.Sequence, error) {
	if t.IsInteger() || t.IsRegType() {
		if q, ok := b.Cat.SequenceByOID(uint32(d.(int64))); ok {
			return q, nil
		}
		return nil, sqlerr.New(sqlerr.WrongObjectType, "relation with OID %d is not a sequence", d.(int64))
	}
	name := strings.Trim(d.(string), `"`)
	schema := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, name = strings.Trim(name[:i], `"`), strings.Trim(name[i+1:], `"`)
	}
	if q, ok := b.Cat.LookupSequence(schema, strings.ToLower(name), b.SearchPath); ok {
		return q, nil
	}
	return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", d.(string))
}

// sequenceCall binds nextval, currval, setval and lastval; ok is false
// for other names.
func (b *Binder) sequenceCall(name string, args []logical.Expr) (logical.Expr, bool, error) {
	st := b.Seqs
	if st == nil {
		st = &SequenceState{}
		b.Seqs = st
	}
	argT := func(i int) types.T {
		t := args[i].Type()
		if t.Kind == types.Unknown {
			return types.TextT
		}
		return t
	}
	call := func(ret types.T, f func([]types.Datum) (types.Datum, error)) (logical.Expr, bool, error) {
		for i := range args {
			var err error
			if args[i], err = b.coerce(args[i], argT(i)); err != nil {
				return nil, true, err
			}
		}
		return &logical.Call{Name: name, Args: args, T: ret, Volatile: true, Kernel: exec.RowKernel(ret, f)}, true, nil
	}
	switch name {
	case "nextval", "currval":
		if len(args) != 1 {
			return nil, true, exec.NoSuchFunction(name, []types.T{})
		}
		t := argT(0)
		return call(types.Int8T, func(ds []types.Datum) (types.Datum, error) {
			q, err := b.sequenceArg(t, ds[0])
			if err != nil {
				return nil, err
			}
			need := catalog.PrivUsage | catalog.PrivUpdate
			if name == "currval" {
				need = catalog.PrivUsage | catalog.PrivSelect
			}
			if err := b.requireAnyOn(q.OID, catalog.KindSequence, q.Schema, q.Name, need); err != nil {
				return nil, err
			}
			if name == "currval" {
				v, ok := st.current(q.OID)
				if !ok {
					return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "currval of sequence \"%s\" is not yet defined in this session", q.Name)
				}
				return v, nil
			}
			v, mustLog, err := q.Next()
			if err != nil {
				return nil, err
			}
			if mustLog && st.Persist != nil {
				if err := st.Persist(); err != nil {
					return nil, err
				}
			}
			st.note(q.OID, v)
			return v, nil
		})
	case "setval":
		if len(args) != 2 && len(args) != 3 {
			return nil, true, exec.NoSuchFunction(name, []types.T{})
		}
		t := argT(0)
		var err error
		if args[1], err = b.coerce(args[1], types.Int8T); err != nil {
			return nil, true, err
		}
		if len(args) == 3 {
			if args[2], err = b.coerce(args[2], types.BoolT); err != nil {
				return nil, true, err
			}
		}
		return &logical.Call{Name: name, Args: args, T: types.Int8T, Volatile: true, Kernel: exec.RowKernel(types.Int8T, func(ds []types.Datum) (types.Datum, error) {
			q, err := b.sequenceArg(t, ds[0])
			if err != nil {
				return nil, err
			}
			if err := b.requireOn(q.OID, catalog.KindSequence, q.Schema, q.Name, catalog.PrivUpdate); err != nil {
				return nil, err
			}
			called := len(ds) < 3 || ds[2] == true
			if _, err := q.Set(ds[1].(int64), called); err != nil {
				return nil, err
			}
			if st.Persist != nil {
				if err := st.Persist(); err != nil {
					return nil, err
				}
			}
			if called {
				st.note(q.OID, ds[1].(int64))
			}
			return ds[1], nil
		})}, true, nil
	case "lastval":
		if len(args) != 0 {
			return nil, true, exec.NoSuchFunction(name, []types.T{})
		}
		return &logical.Call{Name: name, T: types.Int8T, Volatile: true, Kernel: exec.RowKernelNullable(types.Int8T, func([]types.Datum) (types.Datum, error) {
			v, ok := st.lastValue()
			if !ok {
				return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
			}
			return v, nil
		})}, true, nil
	case "pg_get_serial_sequence":
		if len(args) != 2 {
			return nil, true, exec.NoSuchFunction(name, []types.T{})
		}
		return call(types.TextT, func(ds []types.Datum) (types.Datum, error) {
			// the table is a name as SQL writes it (folded unless quoted),
			// the column taken literally, as PostgreSQL documents
			schema, table := SplitQualifiedName(ds[0].(string))
			col := ds[1].(string)
			t, _, ok := b.Cat.Lookup(schema, table, b.SearchPath)
			if !ok || t == nil {
				return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", ds[0].(string))
			}
			i := t.ColumnIndex(col)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", col, t.Name)
			}
			if q := ownedSequence(b.Cat.Sequences(), t, i); q != nil {
				return exec.QuoteIdentIfNeeded(q.Schema) + "." + exec.QuoteIdentIfNeeded(q.Name), nil
			}
			return nil, nil
		})
	}
	return nil, false, nil
}

// ownedSequence is the sequence a serial or identity column draws from
// (nil for none or col < 0): among the sequences owned by the column, the
// one its default names, else the newest. (A table dropped and created
// again inside one transaction block may leave its old sequence owned by
// the same table.column name.)
func ownedSequence(seqs []*catalog.Sequence, t *catalog.Table, col int) *catalog.Sequence {
	if col < 0 {
		return nil
	}
	c := t.Columns[col]
	var newest *catalog.Sequence
	for _, q := range seqs {
		if q.Schema != t.Schema || q.OwnedBy != t.Name+"."+c.Name {
			continue
		}
		if strings.Contains(c.Default, "'"+q.Name+"'") || strings.Contains(c.Default, "."+q.Name+"'") {
			return q
		}
		if newest == nil || q.OID > newest.OID {
			newest = q
		}
	}
	return newest
}

// SplitQualifiedName splits "schema.table" text as SQL reads a name:
// unquoted parts fold to lower case, quoted ones keep theirs.
func SplitQualifiedName(s string) (schema, name string) {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
		case c == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		case quoted:
			cur.WriteByte(c)
		default:
			cur.WriteString(strings.ToLower(string(c)))
		}
	}
	parts = append(parts, cur.String())
	if len(parts) == 1 {
		return "", parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}
