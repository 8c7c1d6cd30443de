package binder

import (
	"slices"
	"strconv"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// regName is the text an object identifier type prints for oid: the
// relation, type, schema or role it names (schema-qualified when the
// search path would not find it), or the number when nothing has it.
func (b *Binder) regName(t types.T, oid int64) string {
	switch t.PG {
	case types.RegClassT.PG:
		for _, s := range b.Cat.Schemas() {
			for _, tab := range s.Tables {
				if int64(tab.OID) == oid {
					return b.qualified(s.Name, tab.Name)
				}
			}
			for _, v := range s.Views {
				if int64(v.OID) == oid {
					return b.qualified(s.Name, v.Name)
				}
			}
		}
		for name, o := range catalogRelationOIDs {
			if o == oid {
				return name
			}
		}
		if q, ok := b.Cat.SequenceByOID(uint32(oid)); ok {
			if slices.Contains(b.SearchPath, q.Schema) {
				return exec.QuoteIdentIfNeeded(q.Name)
			}
			return exec.QuoteIdentIfNeeded(q.Schema) + "." + exec.QuoteIdentIfNeeded(q.Name)
		}
		if t, k, ok := b.findKey(oid, false); ok {
			if slices.Contains(b.SearchPath, t.Schema) {
				return exec.QuoteIdentIfNeeded(k.Name)
			}
			return exec.QuoteIdentIfNeeded(t.Schema) + "." + exec.QuoteIdentIfNeeded(k.Name)
		}
	case types.RegTypeT.PG:
		for _, bt := range builtinTypes {
			if bt.oid != oid {
				continue
			}
			switch bt.name {
			case "char":
				return `"char"`
			case "name", "oid":
				return bt.name
			}
			if st, ok := types.FromName(bt.name, nil); ok {
				return st.String()
			}
			return bt.name
		}
		if e := types.ElemOID(uint32(oid)); e != 0 {
			return b.regName(t, int64(e)) + "[]"
		}
		if n := b.userTypeName(oid); n != "" {
			return n
		}
		for _, pt := range pseudoTypes {
			if pt.oid == oid {
				return pt.name
			}
		}
	case types.RegNamespaceT.PG:
		if oid == catalogNamespaceOID {
			return "pg_catalog"
		}
		for _, s := range b.Cat.Schemas() {
			if int64(s.OID) == oid {
				return s.Name
			}
		}
	case types.RegRoleT.PG:
		if r, ok := b.Cat.RoleByOID(uint32(oid)); ok {
			return r.Name
		}
	}
	return strconv.FormatInt(oid, 10)
}

// qualified names a relation as regclass prints it: bare when the search
// path finds it, schema.name otherwise.
func (b *Binder) qualified(schema, name string) string {
	if slices.Contains(b.SearchPath, schema) {
		if t, v, ok := b.Cat.Lookup("", name, b.SearchPath); ok && (t != nil && t.Schema == schema || v != nil && v.Schema == schema) {
			return exec.QuoteIdentIfNeeded(name)
		}
	}
	return exec.QuoteIdentIfNeeded(schema) + "." + exec.QuoteIdentIfNeeded(name)
}

// regNameCall turns an object identifier into its name (regclass::text,
// and what a query returns for a regclass column).
func (b *Binder) regNameCall(e logical.Expr, to types.T) logical.Expr {
	t := e.Type()
	return &logical.Call{Name: "text", Args: []logical.Expr{e}, T: to,
		Kernel: exec.OIDNameKernel(to, func(oid int64) string { return b.regName(t, oid) })}
}

// namedRegColumns projects a query's object identifier columns as their
// names (typed text that reports the identifier type's OID), as
// PostgreSQL's output functions for regclass and friends print them.
func (b *Binder) namedRegColumns(p logical.Plan) logical.Plan {
	cols := p.Columns()
	if !slices.ContainsFunc(cols, func(c logical.Column) bool { return c.T.IsRegType() && c.T.Kind == types.Int8 }) {
		return p
	}
	exprs := make([]logical.Expr, len(cols))
	out := make([]logical.Column, len(cols))
	for i, c := range cols {
		out[i] = c
		exprs[i] = &logical.ColRef{Col: c}
		if c.T.IsRegType() && c.T.Kind == types.Int8 {
			to := types.T{Kind: types.Text, PG: c.T.PG}
			exprs[i] = b.regNameCall(exprs[i], to)
			nc := b.newColumn(c.Name, to)
			nc.Table, nc.TableOID, nc.Attnum = c.Table, c.TableOID, c.Attnum
			out[i] = nc
		}
	}
	return &logical.Project{Input: p, Exprs: exprs, Cols: out}
}

// userTypeName is format_type's name for an enum or domain (or an array
// of one), "" when no user type has oid.
func (b *Binder) userTypeName(oid int64) string {
	u, isArray, ok := b.Cat.TypeByOID(uint32(oid))
	if !ok {
		return ""
	}
	name := u.Name
	if !slices.Contains(b.SearchPath, u.Schema) {
		name = exec.QuoteIdentIfNeeded(u.Schema) + "." + exec.QuoteIdentIfNeeded(name)
	}
	if isArray {
		name += "[]"
	}
	return name
}

// indexOID finds a key's index by name along the search path.
func (b *Binder) indexOID(schema, name string) (int64, bool) {
	path := b.SearchPath
	if schema != "" {
		path = []string{schema}
	}
	for _, sn := range path {
		sc, ok := b.Cat.Schema(sn)
		if !ok {
			continue
		}
		for _, t := range sc.Tables {
			for _, k := range allIndexes(t) {
				if k.Name == name {
					return int64(k.OID), true
				}
			}
		}
	}
	return 0, false
}
