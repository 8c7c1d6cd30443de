package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

// Privilege checks on objects, with PostgreSQL's messages: a statement
// checks what it touches before it changes anything.

func relKind(t *catalog.Table, v *catalog.View) catalog.ObjectKind {
	if v != nil {
		return catalog.KindView
	}
	return catalog.KindTable
}

// requireOn fails with "permission denied for <kind> <name>" unless the
// current role holds want on the object.
func (s *Session) requireOn(oid uint32, kind catalog.ObjectKind, name string, want catalog.Priv) error {
	if !s.db.cat.HasPrivilege(s.currentRole(), oid, kind, want) {
		return denied("permission denied for %s %s", kind.Noun(), name)
	}
	return nil
}

// requireOwner fails with "must be owner of <kind> <name>" unless the
// current role owns the object (or has its owner's privileges).
func (s *Session) requireOwner(oid uint32, kind catalog.ObjectKind, name string) error {
	if !s.db.cat.IsOwner(s.currentRole(), oid, kind) {
		return denied("must be owner of %s %s", kind.Noun(), name)
	}
	return nil
}

// requireSchema checks a privilege on a schema by name (a session's
// schema of temporary tables is always its own).
func (s *Session) requireSchema(schema string, want catalog.Priv) error {
	sc, ok := s.db.cat.Schema(schema)
	if !ok || sc.Temp {
		return nil
	}
	return s.requireOn(sc.OID, catalog.KindSchema, sc.Name, want)
}

// tableFor looks up a table a statement changes and checks want on it
// and USAGE on its schema.
func (s *Session) tableFor(rv *pg.RangeVar, want catalog.Priv) (*catalog.Table, error) {
	t, err := s.usableTable(rv)
	if err != nil {
		return nil, err
	}
	if err := s.requireOn(t.OID, catalog.KindTable, t.Name, want); err != nil {
		return nil, err
	}
	if err := refuseMatViewWrite(t, want); err != nil {
		return nil, err
	}
	return t, nil
}

// usableTable looks up a table and checks USAGE on its schema.
func (s *Session) usableTable(rv *pg.RangeVar) (*catalog.Table, error) {
	t, err := s.lookupTable(rv)
	if err != nil {
		return nil, err
	}
	if err := s.requireSchema(t.Schema, catalog.PrivUsage); err != nil {
		return nil, err
	}
	return t, nil
}

// columnsTableFor looks up a table an INSERT or UPDATE writes, checking
// USAGE on its schema but leaving want to be checked column by column
// (requireColumns): column privileges may allow what the table's do not.
func (s *Session) columnsTableFor(rv *pg.RangeVar, want catalog.Priv) (*catalog.Table, error) {
	t, err := s.usableTable(rv)
	if err != nil {
		return nil, err
	}
	if err := refuseMatViewWrite(t, want); err != nil {
		return nil, err
	}
	return t, nil
}

// ownedTable looks up a table a DDL statement changes: only its owner may.
func (s *Session) ownedTable(rv *pg.RangeVar) (*catalog.Table, error) {
	t, err := s.lookupTable(rv)
	if err != nil {
		return nil, err
	}
	if err := s.requireOwner(t.OID, catalog.KindTable, t.Name); err != nil {
		return nil, err
	}
	return t, nil
}

// own records the current role as a new object's owner, and gives the
// object the ACL the role's default privileges say.
func (s *Session) own(oid uint32, kind catalog.ObjectKind) {
	owner := s.currentRole()
	s.db.cat.SetOwner(oid, kind, owner)
	if _, schema, _, ok := s.db.cat.ObjectByOID(oid); ok {
		s.db.cat.ApplyDefaultPrivileges(oid, kind, owner, schema)
	}
}

// mayCreateIn checks CREATE on the schema a new object goes in.
func (s *Session) mayCreateIn(schema string) error {
	return s.requireSchema(schema, catalog.PrivCreate)
}

// mayCreateSchema checks CREATE on the database.
func (s *Session) mayCreateSchema() error {
	return s.requireOn(databaseOID, catalog.KindDatabase, "weft", catalog.PrivCreate)
}

// grantTarget is one object a GRANT or REVOKE names.
type grantTarget struct {
	oid  uint32
	kind catalog.ObjectKind
	name string
}

// grant runs GRANT and REVOKE on objects.
func (s *Session) grant(st *pg.GrantStmt) (*Result, error) {
	res := &Result{Tag: "GRANT"}
	if !st.IsGrant {
		res.Tag = "REVOKE"
	}
	targets, err := s.grantTargets(st)
	if err != nil {
		return nil, err
	}
	grantees, err := s.granteeNames(st.Grantees)
	if err != nil {
		return nil, err
	}
	// a GRANT or REVOKE failing part way (a missing column, dependent
	// privileges) changes nothing, as in PostgreSQL
	undo := s.db.snapshotGrantTargets(targets)
	for _, tg := range targets {
		if err := s.grantOnTarget(res, st, tg, grantees); err != nil {
			undo()
			return nil, err
		}
	}
	return res, nil
}

// grantOnTarget applies a GRANT or REVOKE to one object: its own
// privileges, then those of its columns.
func (s *Session) grantOnTarget(res *Result, st *pg.GrantStmt, tg grantTarget, grantees []string) error {
	want, cols, err := grantedPrivs(st, tg.kind)
	if err != nil {
		return err
	}
	if want != 0 || len(cols) == 0 {
		if err := s.grantOn(res, st, tg, want, grantees); err != nil {
			return err
		}
		if err := s.revokeColumnsWithTable(res, st, tg, want, grantees); err != nil {
			return err
		}
	}
	return s.grantOnColumns(res, st, tg, cols, grantees)
}

// snapshotGrantTargets records the privileges of the objects a GRANT or
// REVOKE names (their columns' too) and returns what puts them back.
func (db *DB) snapshotGrantTargets(targets []grantTarget) func() {
	privs := make([]catalog.PrivilegesSnapshot, len(targets))
	cols := map[*catalog.Table]map[string][]catalog.ACLItem{}
	for i, tg := range targets {
		privs[i] = db.cat.SnapshotPrivileges(tg.oid)
		if t := db.cat.TableByOID(tg.oid); t != nil && tg.kind == catalog.KindTable {
			cols[t] = map[string][]catalog.ACLItem{}
			for _, c := range t.Columns {
				cols[t][c.Name] = c.ACL // (nil too: a first grant is undone)
			}
		}
	}
	return func() {
		for _, p := range privs {
			db.cat.RestorePrivilegesSnapshot(p)
		}
		for t, before := range cols {
			catalog.RestoreColumnACLs(t, before)
		}
	}
}

// grantedPrivs reads the privilege list (empty: ALL) for a kind: the
// object's privileges and, apart, those named with a column list
// (SELECT (a, b)), in the order named.
func grantedPrivs(st *pg.GrantStmt, kind catalog.ObjectKind) (catalog.Priv, []columnGrant, error) {
	all := kind.AllPrivs()
	if len(st.Privileges) == 0 {
		return all, nil, nil
	}
	var want catalog.Priv
	var cols []columnGrant
	for _, p := range st.Privileges {
		ap := p.GetAccessPriv()
		if len(ap.Cols) > 0 {
			privs, err := columnPrivsNamed(ap, kind)
			if err != nil {
				return 0, nil, err
			}
			for _, c := range ap.Cols {
				cols = append(cols, columnGrant{name: c.GetString_().GetSval(), privs: privs})
			}
			continue
		}
		bit, ok := catalog.PrivByName(ap.PrivName)
		if !ok {
			return 0, nil, sqlerr.New(sqlerr.SyntaxError, "unrecognized privilege type \"%s\"", ap.PrivName)
		}
		if bit&all == 0 {
			return 0, nil, sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for %s", strings.ToUpper(ap.PrivName), kindForGrantMessage(kind))
		}
		want |= bit
	}
	return want, cols, nil
}

func kindForGrantMessage(k catalog.ObjectKind) string {
	if k == catalog.KindView {
		return "table"
	}
	return k.Noun()
}

// grantOn applies one GRANT/REVOKE to one object. As in PostgreSQL, the
// object's owner (or a superuser) grants as the owner; anyone else needs
// the grant option, and grants only what it holds with it.
func (s *Session) grantOn(res *Result, st *pg.GrantStmt, tg grantTarget, want catalog.Priv, grantees []string) error {
	role := s.currentRole()
	owner := s.db.cat.Privileges(tg.oid, tg.kind).Owner
	grantor := role
	if s.db.cat.IsOwner(role, tg.oid, tg.kind) {
		grantor = owner
	}
	held, grantable := s.db.cat.PrivilegesHeld(role, tg.oid, tg.kind)
	if grantor != owner {
		if held == 0 && grantable == 0 {
			return denied("permission denied for %s %s", tg.kind.Noun(), tg.name)
		}
		if want&grantable == 0 {
			verb := "granted"
			if !st.IsGrant {
				verb = "revoked"
			}
			res.Notices = append(res.Notices, "no privileges were "+verb+" for \""+tg.name+"\"")
			return nil
		}
		want &= grantable
	}
	s.undoPrivileges(tg.oid)
	if st.IsGrant {
		s.db.cat.Grant(tg.oid, tg.kind, grantor, grantees, want, st.GrantOption)
		return nil
	}
	return s.db.cat.Revoke(tg.oid, tg.kind, grantor, grantees, want, st.GrantOption, st.Behavior == pg.DropBehavior_DROP_CASCADE)
}

// grantTargets resolves the objects of a GRANT: named ones, or ALL
// TABLES / SEQUENCES / FUNCTIONS IN SCHEMA.
func (s *Session) grantTargets(st *pg.GrantStmt) ([]grantTarget, error) {
	if st.Targtype == pg.GrantTargetType_ACL_TARGET_ALL_IN_SCHEMA {
		return s.allInSchemas(st)
	}
	if st.Targtype != pg.GrantTargetType_ACL_TARGET_OBJECT {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ALTER DEFAULT PRIVILEGES is not supported yet")
	}
	var out []grantTarget
	for _, o := range st.Objects {
		tg, err := s.grantTarget(st.Objtype, o)
		if err != nil {
			return nil, err
		}
		out = append(out, tg)
	}
	return out, nil
}

func (s *Session) grantTarget(objType pg.ObjectType, o *pg.Node) (grantTarget, error) {
	switch objType {
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_SEQUENCE:
		rv := o.GetRangeVar()
		if q, ok := s.db.cat.LookupSequence(rv.Schemaname, rv.Relname, s.searchPath); ok {
			if _, _, rel := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath); !rel {
				return grantTarget{q.OID, catalog.KindSequence, q.Name}, nil
			}
		}
		if objType == pg.ObjectType_OBJECT_SEQUENCE {
			return grantTarget{}, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", rv.Relname).At(rv.Location)
		}
		t, v, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
		if !ok {
			return grantTarget{}, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", rv.Relname).At(rv.Location)
		}
		if v != nil {
			return grantTarget{v.OID, catalog.KindView, v.Name}, nil
		}
		return grantTarget{t.OID, relKind(t, nil), t.Name}, nil
	case pg.ObjectType_OBJECT_SCHEMA:
		name := o.GetString_().GetSval()
		sc, ok := s.db.cat.Schema(name)
		if !ok {
			return grantTarget{}, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", name)
		}
		return grantTarget{sc.OID, catalog.KindSchema, sc.Name}, nil
	case pg.ObjectType_OBJECT_DATABASE:
		name := o.GetString_().GetSval()
		if name != "weft" {
			return grantTarget{}, sqlerr.New(sqlerr.UndefinedObject, "database \"%s\" does not exist", name)
		}
		return grantTarget{databaseOID, catalog.KindDatabase, name}, nil
	case pg.ObjectType_OBJECT_FUNCTION, pg.ObjectType_OBJECT_ROUTINE, pg.ObjectType_OBJECT_PROCEDURE:
		f, err := s.functionFor(o.GetObjectWithArgs())
		if err != nil {
			return grantTarget{}, err
		}
		return grantTarget{f.OID, catalog.KindFunction, f.UDF.Name}, nil
	}
	return grantTarget{}, sqlerr.New(sqlerr.FeatureNotSupported, "GRANT on this object type is not supported yet")
}

// functionFor resolves FUNCTION name[(args)] to one function.
func (s *Session) functionFor(owa *pg.ObjectWithArgs) (*catalog.Function, error) {
	parts := namesOf(owa.Objname)
	schema, name := "", parts[len(parts)-1]
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	cands := s.db.cat.LookupFunctions(schema, name, s.searchPath)
	var match []*catalog.Function
	for _, f := range cands {
		if owa.ArgsUnspecified || len(f.UDF.Args) == len(owa.Objargs) {
			match = append(match, f)
		}
	}
	switch {
	case len(match) == 0:
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s does not exist", name)
	case len(match) > 1:
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "function name \"%s\" is not unique", name).
			WithHint("Specify the argument list to select the function unambiguously.")
	}
	return match[0], nil
}

// allInSchemas lists ALL TABLES | SEQUENCES | FUNCTIONS IN SCHEMA s, ….
func (s *Session) allInSchemas(st *pg.GrantStmt) ([]grantTarget, error) {
	var out []grantTarget
	for _, o := range st.Objects {
		name := o.GetString_().GetSval()
		sc, ok := s.db.cat.Schema(name)
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", name)
		}
		switch st.Objtype {
		case pg.ObjectType_OBJECT_TABLE:
			for _, t := range sc.Tables {
				out = append(out, grantTarget{t.OID, catalog.KindTable, t.Name})
			}
			for _, v := range sc.Views {
				out = append(out, grantTarget{v.OID, catalog.KindView, v.Name})
			}
		case pg.ObjectType_OBJECT_SEQUENCE:
			for _, q := range sc.Sequences {
				out = append(out, grantTarget{q.OID, catalog.KindSequence, q.Name})
			}
		case pg.ObjectType_OBJECT_FUNCTION, pg.ObjectType_OBJECT_ROUTINE:
			for _, fs := range sc.Funcs {
				for _, f := range fs {
					out = append(out, grantTarget{f.OID, catalog.KindFunction, f.UDF.Name})
				}
			}
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "GRANT ON ALL of this object type is not supported")
		}
	}
	return out, nil
}

// createSchema runs CREATE SCHEMA [AUTHORIZATION role]: it needs CREATE
// on the database, and giving the schema to another role needs that
// role's privileges.
func (s *Session) createSchema(st *pg.CreateSchemaStmt) (*Result, error) {
	if err := s.mayCreateSchema(); err != nil {
		return nil, err
	}
	owner := s.currentRole()
	name := st.Schemaname
	if st.Authrole != nil {
		var err error
		if owner, err = s.roleSpecName(st.Authrole); err != nil {
			return nil, err
		}
		if _, ok := s.db.cat.Role(owner); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", owner)
		}
		if !s.db.cat.HasPrivsOfRole(s.currentRole(), owner) {
			return nil, denied("must be able to SET ROLE \"%s\"", owner)
		}
		if name == "" {
			name = owner
		}
	}
	if len(st.SchemaElts) > 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE SCHEMA with schema elements is not supported yet")
	}
	_, existed := s.db.cat.Schema(name)
	if err := s.db.cat.CreateSchema(name, st.IfNotExists); err != nil {
		return nil, err
	}
	if sc, ok := s.db.cat.Schema(name); ok && !existed {
		s.db.cat.SetOwner(sc.OID, catalog.KindSchema, owner)
	}
	return &Result{Tag: "CREATE SCHEMA"}, nil
}

// createFunctionOwned registers a function the current role will own;
// replacing one needs ownership of what it replaces.
func (s *Session) createFunctionOwned(schema string, def *udf.Function, replace bool) error {
	if limit := s.db.opts.MaxFunctionMemory; def.MaxMemory > limit && !s.isSuperuser() {
		return denied("must be superuser to give a function more than %d MiB of memory (weft.max_memory)", limit>>20).
			WithDetail(fmt.Sprintf("%s asks for %d MiB.", def.Name, def.MaxMemory>>20))
	}
	if replace {
		for _, f := range s.db.cat.LookupFunctions(schema, def.Name, nil) {
			if f.Schema == schema && sameSignature(f.UDF, def) {
				if err := s.requireOwner(f.OID, catalog.KindFunction, f.UDF.Name); err != nil {
					return err
				}
				if err := keepsPLResult(f.UDF, def); err != nil {
					return err
				}
			}
		}
	}
	fn, err := s.db.cat.CreateFunction(schema, def, replace)
	if err != nil {
		return err
	}
	if !s.db.cat.HasPrivilegesEntry(fn.OID) {
		s.own(fn.OID, catalog.KindFunction)
	}
	return nil
}

// keepsPLResult refuses a CREATE OR REPLACE of a PL/pgSQL function that
// changes what it returns, as PostgreSQL does (callers and views were
// bound to the old result).
func keepsPLResult(old, def *udf.Function) error {
	if old.SQL == nil || def.SQL == nil || old.SQL.PL == nil || def.SQL.PL == nil {
		return nil
	}
	o, n := old.SQL.PL, def.SQL.PL
	same := strings.EqualFold(o.ResultType, n.ResultType) && old.Result.Kind == def.Result.Kind && o.SetOf == n.SetOf && len(o.Columns) == len(n.Columns)
	for i := 0; same && i < len(o.Columns); i++ {
		same = o.Columns[i].T.Kind == n.Columns[i].T.Kind
	}
	if same {
		return nil
	}
	return sqlerr.New(sqlerr.InvalidFunctionDefinition, "cannot change return type of existing function").
		WithHint(fmt.Sprintf("Use DROP FUNCTION %s first.", old.Signature()))
}

func sameSignature(a, b *udf.Function) bool {
	if len(a.Args) != len(b.Args) {
		return false
	}
	for i := range a.Args {
		if a.AnyArgs[i] != b.AnyArgs[i] || (!a.AnyArgs[i] && a.Args[i].Kind != b.Args[i].Kind) {
			return false
		}
	}
	return true
}

// requireServerFileRole is COPY's check for reading or writing files on
// the server, with PostgreSQL 15's message and hint.
func (s *Session) requireServerFileRole(role, what string) error {
	if s.db.cat.HasPrivsOfRole(s.currentRole(), role) {
		return nil
	}
	return denied("must be superuser or have privileges of the %s role to %s", role, what).
		WithHint("Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.")
}

// ownerChange reports the new owner when every command of an ALTER
// TABLE / VIEW / SEQUENCE is OWNER TO.
func ownerChange(st *pg.AlterTableStmt) (*pg.RoleSpec, bool) {
	var spec *pg.RoleSpec
	for _, n := range st.Cmds {
		cmd := n.GetAlterTableCmd()
		if cmd.Subtype != pg.AlterTableType_AT_ChangeOwner {
			return nil, false
		}
		spec = cmd.Newowner
	}
	return spec, spec != nil
}

// alterRelationOwner runs ALTER TABLE | VIEW | SEQUENCE name OWNER TO role.
func (s *Session) alterRelationOwner(st *pg.AlterTableStmt, spec *pg.RoleSpec) (*Result, error) {
	objType := pg.ObjectType_OBJECT_TABLE
	tag := "ALTER TABLE"
	switch st.Objtype {
	case pg.ObjectType_OBJECT_SEQUENCE:
		objType, tag = pg.ObjectType_OBJECT_SEQUENCE, "ALTER SEQUENCE"
	case pg.ObjectType_OBJECT_VIEW:
		tag = "ALTER VIEW"
	}
	tg, err := s.grantTarget(objType, &pg.Node{Node: &pg.Node_RangeVar{RangeVar: st.Relation}})
	if err != nil {
		if st.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
			return &Result{Tag: tag}, nil
		}
		return nil, err
	}
	if err := s.changeOwner(tg, spec); err != nil {
		return nil, err
	}
	if tg.kind == catalog.KindTable {
		// the sequences of its serial and identity columns follow it
		t := s.db.cat.TableByOID(tg.oid)
		for _, q := range s.db.cat.Sequences() {
			if t != nil && q.Schema == t.Schema && strings.HasPrefix(q.OwnedBy, t.Name+".") {
				s.undoPrivileges(q.OID)
				s.db.cat.SetOwner(q.OID, catalog.KindSequence, s.db.cat.Privileges(tg.oid, tg.kind).Owner)
			}
		}
	}
	return &Result{Tag: tag}, nil
}

// alterOwner runs ALTER SCHEMA | FUNCTION | AGGREGATE … OWNER TO role.
func (s *Session) alterOwner(st *pg.AlterOwnerStmt) (*Result, error) {
	var tg grantTarget
	var err error
	var tag string
	switch st.ObjectType {
	case pg.ObjectType_OBJECT_SCHEMA:
		tag = "ALTER SCHEMA"
		tg, err = s.grantTarget(pg.ObjectType_OBJECT_SCHEMA, st.Object)
	case pg.ObjectType_OBJECT_FUNCTION, pg.ObjectType_OBJECT_AGGREGATE:
		tag = "ALTER FUNCTION"
		if st.ObjectType == pg.ObjectType_OBJECT_AGGREGATE {
			tag = "ALTER AGGREGATE"
		}
		tg, err = s.grantTarget(pg.ObjectType_OBJECT_FUNCTION, st.Object)
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ALTER … OWNER TO is not supported for this kind of object")
	}
	if err != nil {
		return nil, err
	}
	if err := s.changeOwner(tg, st.Newowner); err != nil {
		return nil, err
	}
	return &Result{Tag: tag}, nil
}

// changeOwner hands an object to another role, with PostgreSQL 15's
// checks: the current owner (or a superuser) may, if it is a member of
// the new owner, and the new owner may create in the object's schema
// (in the database, for a schema).
func (s *Session) changeOwner(tg grantTarget, spec *pg.RoleSpec) error {
	owner, err := s.roleSpecName(spec)
	if err != nil {
		return err
	}
	if _, ok := s.db.cat.Role(owner); !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", owner)
	}
	if s.db.cat.Privileges(tg.oid, tg.kind).Owner == owner {
		return nil
	}
	if !s.isSuperuser() {
		if err := s.requireOwner(tg.oid, tg.kind, tg.name); err != nil {
			return err
		}
		if !s.db.cat.IsMemberOfRole(s.currentRole(), owner) {
			return denied("must be member of role \"%s\"", owner)
		}
		if err := s.newOwnerMayCreate(tg, owner); err != nil {
			return err
		}
	}
	s.undoPrivileges(tg.oid)
	was := s.db.cat.Privileges(tg.oid, tg.kind).Owner
	s.db.cat.SetOwner(tg.oid, tg.kind, owner)
	if t := s.db.cat.TableByOID(tg.oid); t != nil && tg.kind == catalog.KindTable {
		s.undoColumnACLsOf([]*catalog.Table{t})
		s.db.cat.MoveColumnGrants(t, was, owner)
	}
	return nil
}

// undoPrivileges makes ROLLBACK of the open block restore an object's
// owner and ACL as they are now.
func (s *Session) undoPrivileges(oid uint32) {
	if s.tx == nil {
		return
	}
	snap := s.db.cat.SnapshotPrivileges(oid)
	s.undoCreate(func() { s.db.cat.RestorePrivilegesSnapshot(snap) })
}

// newOwnerMayCreate checks CREATE for the new owner where the object
// lives.
func (s *Session) newOwnerMayCreate(tg grantTarget, owner string) error {
	if tg.kind == catalog.KindSchema {
		if !s.db.cat.HasPrivilege(owner, databaseOID, catalog.KindDatabase, catalog.PrivCreate) {
			return denied("permission denied for database weft")
		}
		return nil
	}
	_, schema, _, ok := s.db.cat.ObjectByOID(tg.oid)
	if !ok {
		return nil
	}
	sc, ok := s.db.cat.Schema(schema)
	if !ok || sc.Temp || s.db.cat.HasPrivilege(owner, sc.OID, catalog.KindSchema, catalog.PrivCreate) {
		return nil
	}
	return denied("permission denied for schema %s", sc.Name)
}

// reassignOwned runs REASSIGN OWNED BY role, … TO role: it needs the
// privileges of every role involved.
func (s *Session) reassignOwned(st *pg.ReassignOwnedStmt) (*Result, error) {
	to, err := s.roleSpecName(st.Newrole)
	if err != nil {
		return nil, err
	}
	if _, ok := s.db.cat.Role(to); !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", to)
	}
	var from []string
	for _, n := range st.Roles {
		name, err := s.roleSpecName(n.GetRoleSpec())
		if err != nil {
			return nil, err
		}
		r, ok := s.db.cat.Role(name)
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
		}
		if r.Bootstrap {
			return nil, sqlerr.New(sqlerr.DependentObjects, "cannot reassign ownership of objects owned by role %s because they are required by the database system", name)
		}
		from = append(from, name)
	}
	me := s.currentRole()
	for _, name := range append(from, to) {
		if !s.db.cat.HasPrivsOfRole(me, name) {
			return nil, denied("permission denied to reassign objects")
		}
	}
	if s.tx != nil {
		all := s.db.cat.StoredPrivileges()
		snaps := make([]catalog.PrivilegesSnapshot, len(all))
		for i, p := range all {
			snaps[i] = s.db.cat.SnapshotPrivileges(p.OID)
		}
		s.undoCreate(func() {
			for _, sn := range snaps {
				s.db.cat.RestorePrivilegesSnapshot(sn)
			}
		})
	}
	for _, name := range from {
		s.undoColumnACLsOf(s.db.cat.TablesOwnedWithColumnACLs(name))
		s.db.cat.ReassignOwned(name, to)
	}
	return &Result{Tag: "REASSIGN OWNED"}, nil
}

// dropOwned runs DROP OWNED BY role, …: it drops what the roles own (as
// the matching DROP statements would, views before tables, schemas last)
// and revokes what was granted to them.
func (s *Session) dropOwned(ctx context.Context, st *pg.DropOwnedStmt) (*Result, error) {
	var roles []string
	for _, n := range st.Roles {
		name, err := s.roleSpecName(n.GetRoleSpec())
		if err != nil {
			return nil, err
		}
		r, ok := s.db.cat.Role(name)
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
		}
		if r.Bootstrap {
			return nil, sqlerr.New(sqlerr.DependentObjects, "cannot drop objects owned by role %s because they are required by the database system", name)
		}
		if !s.db.cat.HasPrivsOfRole(s.currentRole(), name) {
			return nil, denied("permission denied to drop objects")
		}
		roles = append(roles, name)
	}
	behavior := " RESTRICT"
	if st.Behavior == pg.DropBehavior_DROP_CASCADE {
		behavior = " CASCADE"
	}
	for _, role := range roles {
		for _, sql := range s.dropOwnedStatements(role, behavior) {
			if err := s.runInternal(ctx, sql); err != nil {
				return nil, err
			}
		}
		s.undoColumnACLsOf(s.db.cat.TablesWithColumnACLs())
		s.db.cat.RevokeAllFrom(role)
	}
	return &Result{Tag: "DROP OWNED"}, nil
}

// dropOwnedStatements are the DROP statements for what a role owns, in
// an order that drops dependents first.
func (s *Session) dropOwnedStatements(role, behavior string) []string {
	rank := map[catalog.ObjectKind]int{catalog.KindView: 0, catalog.KindFunction: 1, catalog.KindTable: 2, catalog.KindSequence: 3, catalog.KindSchema: 4}
	owned := s.db.cat.OwnedBy(role)
	sort.SliceStable(owned, func(i, j int) bool { return rank[owned[i].Kind] < rank[owned[j].Kind] })
	var out []string
	for _, p := range owned {
		kind, schema, name, ok := s.db.cat.ObjectByOID(p.OID)
		if !ok {
			continue
		}
		qualified := quoteIdent(schema) + "." + quoteIdent(name)
		switch kind {
		case catalog.KindView:
			out = append(out, "DROP VIEW IF EXISTS "+qualified)
		case catalog.KindTable:
			out = append(out, "DROP TABLE IF EXISTS "+qualified+behavior)
		case catalog.KindSequence:
			if q, ok := s.db.cat.SequenceByOID(p.OID); ok && q.OwnedBy != "" {
				continue // it goes with its table
			}
			out = append(out, "DROP SEQUENCE IF EXISTS "+qualified)
		case catalog.KindFunction:
			if sig := s.functionSignature(p.OID); sig != "" {
				out = append(out, "DROP FUNCTION IF EXISTS "+quoteIdent(schema)+"."+sig)
			}
		case catalog.KindSchema:
			out = append(out, "DROP SCHEMA IF EXISTS "+quoteIdent(name)+behavior)
		}
	}
	return out
}

// functionSignature is name(argtypes) for DROP FUNCTION.
func (s *Session) functionSignature(oid uint32) string {
	for _, f := range s.db.cat.Functions() {
		if f.OID == oid {
			return f.UDF.Signature()
		}
	}
	return ""
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// runInternal runs statements the session makes up itself (DROP OWNED's
// drops) with the session's identity and checks.
func (s *Session) runInternal(ctx context.Context, sql string) error {
	stmts, err := parser.Parse(sql)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		res, err := s.runStmt(ctx, sql, st)
		if err != nil {
			return err
		}
		res.Release()
	}
	return nil
}

// alterDefaultPrivileges runs ALTER DEFAULT PRIVILEGES [FOR ROLE r, …]
// [IN SCHEMA s, …] GRANT | REVOKE … ON TABLES | SEQUENCES | FUNCTIONS |
// ROUTINES TO | FROM ….
func (s *Session) alterDefaultPrivileges(st *pg.AlterDefaultPrivilegesStmt) (*Result, error) {
	var roles, schemas []string
	for _, o := range st.Options {
		d := o.GetDefElem()
		for _, item := range d.GetArg().GetList().GetItems() {
			switch d.GetDefname() {
			case "roles":
				name, err := s.roleSpecName(item.GetRoleSpec())
				if err != nil {
					return nil, err
				}
				roles = append(roles, name)
			case "schemas":
				schemas = append(schemas, item.GetString_().GetSval())
			}
		}
	}
	if len(roles) == 0 {
		roles = []string{s.currentRole()}
	}
	for _, r := range roles {
		if _, ok := s.db.cat.Role(r); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", r)
		}
		if !s.isSuperuser() && !s.db.cat.IsMemberOfRole(s.currentRole(), r) {
			return nil, denied("permission denied to change default privileges")
		}
	}
	for _, sc := range schemas {
		if _, ok := s.db.cat.Schema(sc); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", sc)
		}
	}
	if len(schemas) == 0 {
		schemas = []string{""}
	}
	act := st.Action
	var kind catalog.ObjectKind
	switch act.Objtype {
	case pg.ObjectType_OBJECT_TABLE:
		kind = catalog.KindTable
	case pg.ObjectType_OBJECT_SEQUENCE:
		kind = catalog.KindSequence
	case pg.ObjectType_OBJECT_FUNCTION, pg.ObjectType_OBJECT_ROUTINE, pg.ObjectType_OBJECT_PROCEDURE:
		kind = catalog.KindFunction
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "default privileges on %s are not supported yet", strings.ToLower(strings.TrimPrefix(act.Objtype.String(), "OBJECT_"))+"s")
	}
	privs, cols, err := grantedPrivs(act, kind)
	if err != nil {
		return nil, err
	}
	if len(cols) > 0 {
		return nil, sqlerr.New(sqlerr.InvalidGrantOperation, "column privileges are only valid for relations")
	}
	grantees, err := s.granteeNames(act.Grantees)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		for _, sc := range schemas {
			s.db.cat.AlterDefaultPrivileges(r, sc, kind, grantees, privs, act.GrantOption, !act.IsGrant)
		}
	}
	return &Result{Tag: "ALTER DEFAULT PRIVILEGES"}, nil
}

// granteeNames reads a GRANT's role list: existing roles, "" for PUBLIC.
func (s *Session) granteeNames(specs []*pg.Node) ([]string, error) {
	out := make([]string, 0, len(specs))
	for _, g := range specs {
		spec := g.GetRoleSpec()
		if spec.GetRoletype() == pg.RoleSpecType_ROLESPEC_PUBLIC {
			out = append(out, "")
			continue
		}
		name, err := s.roleSpecName(spec)
		if err != nil {
			return nil, err
		}
		if _, ok := s.db.cat.Role(name); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
		}
		out = append(out, name)
	}
	return out, nil
}
