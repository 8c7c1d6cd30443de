package engine

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// qualifiedName splits [schema.]name, the schema defaulting to the first
// of the search path.
func (s *Session) qualifiedName(ns []*pg.Node) (schema, name string) {
	parts := namesOf(ns)
	name = parts[len(parts)-1]
	schema = s.searchPath[0]
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	return schema, name
}

// createEnum runs CREATE TYPE name AS ENUM ('a', 'b', …).
func (s *Session) createEnum(st *pg.CreateEnumStmt) (*Result, error) {
	schema, name := s.qualifiedName(st.TypeName)
	if err := s.mayCreateIn(schema); err != nil {
		return nil, err
	}
	def := &types.EnumDef{}
	for _, v := range st.Vals {
		label := v.GetString_().GetSval()
		if def.Position(label) >= 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "enum labels must be unique").WithDetail("label \"" + label + "\" used more than once")
		}
		if len(label) > 63 {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid enum label \"%s\"", label).WithDetail("Labels must be 63 bytes or less.")
		}
		def.Labels = append(def.Labels, label)
	}
	u := &catalog.UserType{Schema: schema, Name: name, Enum: def}
	if err := s.creating(func() (uint32, error) { return u.OID, s.db.cat.CreateType(u, false) }); err != nil {
		return nil, err
	}
	s.undoCreate(func() { _ = s.db.cat.DropType(schema, name, nil, true) })
	return &Result{Tag: "CREATE TYPE"}, nil
}

// createComposite runs CREATE TYPE name AS (field type, …).
func (s *Session) createComposite(env *exec.Env, st *pg.CompositeTypeStmt) (*Result, error) {
	schema, name := st.Typevar.Schemaname, st.Typevar.Relname
	if schema == "" {
		schema = s.searchPath[0]
	}
	if err := s.mayCreateIn(schema); err != nil {
		return nil, err
	}
	b := s.binder(env)
	fields := []types.RecordField{}
	seen := map[string]bool{}
	for _, n := range st.Coldeflist {
		cd := n.GetColumnDef()
		if cd == nil {
			return nil, sqlerr.New(sqlerr.SyntaxError, "expected a field definition")
		}
		if seen[cd.Colname] {
			return nil, sqlerr.New(sqlerr.DuplicateColumn, "column \"%s\" specified more than once", cd.Colname)
		}
		seen[cd.Colname] = true
		t, dom, err := b.ResolveType(cd.TypeName)
		if err != nil {
			return nil, err
		}
		if dom != nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a composite type's field of a domain type (%s) is not supported", cd.TypeName.GetNames()[len(cd.TypeName.GetNames())-1].GetString_().GetSval()).At(cd.TypeName.Location)
		}
		fields = append(fields, types.RecordField{Name: cd.Colname, T: t})
	}
	u := &catalog.UserType{Schema: schema, Name: name, Fields: fields}
	if err := s.creating(func() (uint32, error) { return u.OID, s.db.cat.CreateType(u, false) }); err != nil {
		return nil, err
	}
	s.undoCreate(func() { _ = s.db.cat.DropType(schema, name, nil, true) })
	return &Result{Tag: "CREATE TYPE"}, nil
}

// createDomain runs CREATE DOMAIN name AS base [NOT NULL] [CHECK (…)].
func (s *Session) createDomain(env *exec.Env, st *pg.CreateDomainStmt) (*Result, error) {
	schema, name := s.qualifiedName(st.Domainname)
	if err := s.mayCreateIn(schema); err != nil {
		return nil, err
	}
	b := s.binder(env)
	base, dom, err := b.ResolveType(st.TypeName)
	if err != nil {
		return nil, err
	}
	if dom != nil || base.Kind == types.Array {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "domains over domains or arrays are not supported yet")
	}
	u := &catalog.UserType{Schema: schema, Name: name, Base: base}
	for _, cn := range st.Constraints {
		c := cn.GetConstraint()
		switch c.Contype {
		case pg.ConstrType_CONSTR_NOTNULL:
			u.NotNull = true
		case pg.ConstrType_CONSTR_NULL:
		case pg.ConstrType_CONSTR_CHECK:
			if u.Check != "" {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a domain with several CHECK constraints is not supported yet")
			}
			text, err := deparseExpr(c.RawExpr)
			if err != nil {
				return nil, err
			}
			u.Check, u.CheckName = text, c.Conname
			if u.CheckName == "" {
				u.CheckName = name + "_check"
			}
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this domain constraint is not supported yet")
		}
	}
	if u.Check != "" {
		// the condition must bind over VALUE now, not at first use
		if _, err := b.DomainCheck(u, &logical.Const{T: base}); err != nil {
			return nil, err
		}
	}
	if err := s.creating(func() (uint32, error) { return u.OID, s.db.cat.CreateType(u, false) }); err != nil {
		return nil, err
	}
	s.undoCreate(func() { _ = s.db.cat.DropType(schema, name, nil, true) })
	return &Result{Tag: "CREATE DOMAIN"}, nil
}

// dropTypes runs DROP TYPE / DROP DOMAIN.
func (s *Session) dropTypes(st *pg.DropStmt) (*Result, error) {
	tag := map[bool]string{true: "DROP DOMAIN", false: "DROP TYPE"}[st.RemoveType == pg.ObjectType_OBJECT_DOMAIN]
	for _, obj := range st.Objects {
		tn := obj.GetTypeName()
		if tn == nil {
			return nil, sqlerr.New(sqlerr.SyntaxError, "expected a type name")
		}
		schema, name := "", ""
		parts := namesOf(tn.Names)
		name = parts[len(parts)-1]
		if len(parts) > 1 {
			schema = parts[len(parts)-2]
		}
		if u, ok := s.db.cat.LookupType(schema, name, s.searchPath); ok && u.IsDomain() != (st.RemoveType == pg.ObjectType_OBJECT_DOMAIN) {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "\"%s\" is not a %s", name, map[bool]string{true: "domain", false: "type"}[!u.IsDomain()])
		}
		if err := s.db.cat.DropType(schema, name, s.searchPath, st.MissingOk); err != nil {
			return nil, err
		}
	}
	return &Result{Tag: tag}, nil
}

// checkDomains enforces the domains of a table's columns on rows about to
// be stored (INSERT, COPY, UPDATE).
func (s *Session) checkDomains(ctx context.Context, t *catalog.Table, recs []arrow.Record) error {
	for i, c := range t.Columns {
		if c.Domain == 0 {
			continue
		}
		u, _, ok := s.db.cat.TypeByOID(c.Domain)
		if !ok {
			continue // dropped with the column's table in the same breath
		}
		env := s.env()
		b := s.binder(env)
		col := b.NewColumn(c.Name, c.Type)
		checked, err := b.DomainCheck(u, &logical.ColRef{Col: col})
		if err != nil {
			return err
		}
		pb := s.newBuilder(env)
		expr, err := pb.Compile(checked, []logical.Column{col})
		pb.Release()
		if err != nil {
			return err
		}
		schema := arrow.NewSchema([]arrow.Field{{Name: c.Name, Type: c.Type.Arrow(), Nullable: true}}, nil)
		ec := exec.NewEvalContext(ctx, env)
		for _, r := range recs {
			one := array.NewRecord(schema, []arrow.Array{r.Column(i)}, r.NumRows())
			out, err := expr.Eval(ec, one)
			one.Release()
			if err != nil {
				return err
			}
			out.Release()
		}
	}
	return nil
}

// context is the running statement's context (background outside one).
func (s *Session) context() context.Context {
	if s.ctx != nil {
		return s.ctx
	}
	return context.Background()
}

// TypeForOID is the type of a user type's OID (an enum, a domain's base
// type, or an array of an enum), for clients that declare parameter types.
func (s *Session) TypeForOID(oid uint32) (types.T, bool) {
	u, isArray, ok := s.db.cat.TypeByOID(oid)
	switch {
	case !ok:
		return types.T{}, false
	case u.Enum != nil && isArray:
		return types.ArrayOf(types.T{Kind: types.Enum, Enum: u.Enum}), true
	case u.Enum != nil:
		return types.T{Kind: types.Enum, Enum: u.Enum}, true
	case isArray:
		return types.ArrayOf(u.Base), true
	}
	return u.Base, true
}
