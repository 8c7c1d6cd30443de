package binder

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// ResolveType maps a type name to a type, the catalog's enums and domains
// included. For a domain, t is its base type and dom the domain.
func (b *Binder) ResolveType(tn *pg.TypeName) (t types.T, dom *catalog.UserType, err error) {
	t, err = ResolveTypeName(tn)
	if err == nil {
		return t, nil, nil
	}
	ns := names(tn.Names)
	schema, name := "", ns[len(ns)-1]
	if len(ns) > 1 {
		schema = ns[len(ns)-2]
	}
	u, ok := b.Cat.LookupType(schema, name, b.SearchPath)
	if !ok {
		return types.T{}, nil, err
	}
	if b.recording(tn.Location) {
		b.Record.Types[tn.Location] = u.Schema
	}
	if u.Enum != nil {
		t = types.T{Kind: types.Enum, Enum: u.Enum}
		if len(tn.ArrayBounds) > 0 {
			t = types.ArrayOf(t)
		}
		return t, nil, nil
	}
	if u.IsComposite() {
		if len(tn.ArrayBounds) > 0 {
			return types.T{}, nil, sqlerr.New(sqlerr.FeatureNotSupported, "arrays of composite types are not supported yet").At(tn.Location)
		}
		return u.CompositeT(), nil, nil
	}
	if len(tn.ArrayBounds) > 0 {
		return types.T{}, nil, sqlerr.New(sqlerr.FeatureNotSupported, "arrays of domains are not supported yet").At(tn.Location)
	}
	return u.Base, u, nil
}

// DomainCheck wraps value (already of the domain's base type) in the
// domain's NOT NULL and CHECK constraints.
func (b *Binder) DomainCheck(u *catalog.UserType, value logical.Expr) (logical.Expr, error) {
	args := []logical.Expr{value}
	if u.Check != "" {
		stmts, err := parser.Parse("SELECT " + u.Check)
		if err != nil {
			return nil, err
		}
		rt := stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget()
		col := b.newColumn("value", u.Base)
		if len(b.levels) == 0 {
			b.pushLevel()
			defer b.popLevel()
		}
		cond, err := b.bindExpr(rt.Val, &scope{level: b.curLevel(), items: []scopeItem{{col: col}}, aggErr: "check constraints"})
		if err != nil {
			return nil, err
		}
		if cond, err = b.requireBool(cond, 0); err != nil {
			return nil, err
		}
		cond = logical.Rewrite(cond, func(x logical.Expr) logical.Expr {
			if c, ok := x.(*logical.ColRef); ok && c.Col.ID == col.ID {
				return value
			}
			return x
		})
		args = append(args, cond)
	}
	return &logical.Call{Name: u.Name, Args: args, T: u.Base, Kernel: exec.DomainCheckKernel(u.Name, u.CheckName, u.Base, u.NotNull)}, nil
}

// bindDomainCast casts arg to a domain: to its base type, then through
// the domain's constraints.
func (b *Binder) bindDomainCast(arg logical.Expr, u *catalog.UserType, loc int32) (logical.Expr, error) {
	e, err := b.explicitCast(arg, u.Base, loc)
	if err != nil {
		return nil, err
	}
	c, err := b.DomainCheck(u, e)
	if err != nil {
		return nil, err
	}
	return b.fold(c)
}
