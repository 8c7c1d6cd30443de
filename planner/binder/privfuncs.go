package binder

import (
	"strconv"
	"strings"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// privilegeFuncs are the has_*_privilege functions and the kind of object
// each asks about.
var privilegeFuncs = map[string]catalog.ObjectKind{
	"has_table_privilege":      catalog.KindTable,
	"has_any_column_privilege": catalog.KindTable,
	"has_schema_privilege":     catalog.KindSchema,
	"has_function_privilege":   catalog.KindFunction,
	"has_sequence_privilege":   catalog.KindSequence,
	"has_database_privilege":   catalog.KindDatabase,
}

// privilegeCall binds has_*_privilege([role,] object, privileges) and
// pg_has_role([role,] role, privileges) over the catalog; ok is false
// for other names. An object given by OID that does not exist gives
// NULL; by name, an error (as in PostgreSQL).
func (b *Binder) privilegeCall(name string, args []logical.Expr) (logical.Expr, bool, error) {
	if name == "pg_get_userbyid" && len(args) == 1 {
		return b.userByID(args)
	}
	if name == "has_column_privilege" {
		e, err := b.columnPrivilegeCall(args)
		return e, true, err
	}
	kind, isPriv := privilegeFuncs[name]
	if !isPriv && name != "pg_has_role" {
		return nil, false, nil
	}
	byOID, err := b.privilegeArgs(name, args, 2)
	if err != nil {
		return nil, true, err
	}
	me := b.User
	kernel := exec.RowKernel(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
		role := me
		rest, restOID := ds, byOID
		if len(ds) == 3 {
			r, ok, err := b.roleArg(ds[0], byOID[0])
			if err != nil || !ok {
				return nil, err
			}
			role, rest, restOID = r, ds[1:], byOID[1:]
		}
		if name == "pg_has_role" {
			return b.hasRole(role, rest[0], restOID[0], rest[1].(string))
		}
		return b.hasPrivilege(role, kind, name, rest[0], restOID[0], rest[1].(string))
	})
	return &logical.Call{Name: name, Args: args, T: types.BoolT, Kernel: kernel}, true, nil
}

// roleArg resolves a role given by name or OID (ok false: no such OID).
func (b *Binder) roleArg(d types.Datum, byOID bool) (string, bool, error) {
	if byOID {
		r, ok := b.Cat.RoleByOID(uint32(d.(int64)))
		return r.Name, ok, nil
	}
	n := strings.ToLower(d.(string))
	if n == "public" {
		return "", true, nil
	}
	if _, ok := b.Cat.Role(n); !ok {
		return "", false, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", d.(string))
	}
	return n, true, nil
}

// parsePrivileges reads 'SELECT, INSERT WITH GRANT OPTION' into the
// privileges asked for and whether grant options are.
func parsePrivileges(text string, kind catalog.ObjectKind, funcName string) (catalog.Priv, catalog.Priv, error) {
	var plain, opt catalog.Priv
	all := kind.AllPrivs()
	if funcName == "has_any_column_privilege" {
		all = catalog.PrivSelect | catalog.PrivInsert | catalog.PrivUpdate | catalog.PrivReferences
	}
	for _, part := range strings.Split(text, ",") {
		p := strings.ToUpper(strings.Join(strings.Fields(part), " "))
		withOpt := strings.HasSuffix(p, " WITH GRANT OPTION")
		p = strings.TrimSuffix(p, " WITH GRANT OPTION")
		bit, ok := catalog.PrivByName(p)
		if !ok || bit&all == 0 {
			return 0, 0, sqlerr.New(sqlerr.InvalidParameter, "unrecognized privilege type: \"%s\"", strings.TrimSpace(part))
		}
		if withOpt {
			opt |= bit
		} else {
			plain |= bit
		}
	}
	return plain, opt, nil
}

// hasPrivilege answers a has_*_privilege call: true when role holds any
// of the listed privileges.
func (b *Binder) hasPrivilege(role string, kind catalog.ObjectKind, funcName string, obj types.Datum, byOID bool, privs string) (types.Datum, error) {
	oid, k, ok, err := b.privilegeObject(kind, obj, byOID)
	if err != nil || !ok {
		return nil, err
	}
	plain, opt, err := parsePrivileges(privs, kind, funcName)
	if err != nil {
		return nil, err
	}
	var held, grantable catalog.Priv
	if role == "" {
		held = b.publicPrivileges(oid, k)
	} else {
		held, grantable = b.Cat.PrivilegesHeld(role, oid, k)
	}
	if t := b.Cat.TableByOID(oid); funcName == "has_any_column_privilege" && t != nil && k == catalog.KindTable {
		for i := range t.Columns {
			h, g := b.columnPrivilegesHeld(role, t, i)
			held, grantable = held|h, grantable|g
		}
	}
	return held&plain != 0 || grantable&opt != 0, nil
}

// publicPrivileges are what PUBLIC holds on an object.
func (b *Binder) publicPrivileges(oid uint32, k catalog.ObjectKind) catalog.Priv {
	var held catalog.Priv
	for _, it := range b.Cat.Privileges(oid, k).EffectiveACL() {
		if it.Grantee == "" {
			held |= it.Privs
		}
	}
	return held
}

// privilegeObject resolves the object a has_*_privilege call names.
func (b *Binder) privilegeObject(kind catalog.ObjectKind, obj types.Datum, byOID bool) (uint32, catalog.ObjectKind, bool, error) {
	if byOID {
		oid := uint32(obj.(int64))
		if kind == catalog.KindDatabase {
			return oid, kind, oid == 16384, nil
		}
		k, _, _, ok := b.Cat.ObjectByOID(oid)
		if kind == catalog.KindTable && (k == catalog.KindView || k == catalog.KindSequence) {
			return oid, k, ok, nil
		}
		return oid, kind, ok && k == kind, nil
	}
	name := obj.(string)
	switch kind {
	case catalog.KindDatabase:
		if name != "weft" {
			return 0, 0, false, sqlerr.New(sqlerr.UndefinedObject, "database \"%s\" does not exist", name)
		}
		return 16384, kind, true, nil
	case catalog.KindSchema:
		sc, ok := b.Cat.Schema(name)
		if !ok {
			return 0, 0, false, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", name)
		}
		return sc.OID, kind, true, nil
	case catalog.KindFunction:
		fname := name
		if i := strings.IndexByte(fname, '('); i >= 0 {
			fname = fname[:i]
		}
		schema, fn := splitQualified(strings.TrimSpace(fname))
		fs := b.Cat.LookupFunctions(schema, strings.ToLower(fn), b.SearchPath)
		if len(fs) == 0 {
			return 0, 0, false, sqlerr.New(sqlerr.UndefinedFunction, "function \"%s\" does not exist", name)
		}
		return fs[0].OID, kind, true, nil
	}
	schema, rel := splitQualified(name)
	rel = strings.ToLower(rel)
	if q, ok := b.Cat.LookupSequence(schema, rel, b.SearchPath); ok {
		return q.OID, catalog.KindSequence, true, nil
	}
	t, v, ok := b.Cat.Lookup(schema, rel, b.SearchPath)
	switch {
	case ok && kind == catalog.KindSequence:
		return 0, 0, false, sqlerr.New(sqlerr.WrongObjectType, "\"%s\" is not a sequence", name)
	case !ok:
		return 0, 0, false, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", name)
	case v != nil:
		return v.OID, catalog.KindView, true, nil
	}
	return t.OID, catalog.KindTable, true, nil
}

func splitQualified(name string) (schema, rel string) {
	name = strings.Trim(name, `"`)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return strings.Trim(name[:i], `"`), strings.Trim(name[i+1:], `"`)
	}
	return "", name
}

// hasRole answers pg_has_role: MEMBER is membership, USAGE inherited
// privileges.
func (b *Binder) hasRole(role string, target types.Datum, byOID bool, privs string) (types.Datum, error) {
	name, ok, err := b.roleArg(target, byOID)
	if err != nil || !ok {
		return nil, err
	}
	result := false
	for _, part := range strings.Split(privs, ",") {
		p := strings.ToUpper(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.ToUpper(part)), "WITH ADMIN OPTION")))
		admin := strings.Contains(strings.ToUpper(part), "WITH ADMIN OPTION")
		switch {
		case admin:
			result = result || b.Cat.HasAdminOf(role, name)
		case p == "MEMBER":
			result = result || b.Cat.IsMemberOfRole(role, name)
		case p == "USAGE":
			result = result || b.Cat.HasPrivsOfRole(role, name)
		default:
			return nil, sqlerr.New(sqlerr.InvalidParameter, "unrecognized privilege type: \"%s\"", strings.TrimSpace(part))
		}
	}
	return result, nil
}

// userByID binds pg_get_userbyid(oid): a role's name, or PostgreSQL's
// "unknown (OID=n)".
func (b *Binder) userByID(args []logical.Expr) (logical.Expr, bool, error) {
	arg, err := b.coerce(args[0], types.Int8T)
	if err != nil {
		return nil, true, err
	}
	kernel := exec.RowKernel(types.NameT, func(ds []types.Datum) (types.Datum, error) {
		oid := ds[0].(int64)
		if r, ok := b.Cat.RoleByOID(uint32(oid)); ok {
			return r.Name, nil
		}
		return "unknown (OID=" + strconv.FormatInt(oid, 10) + ")", nil
	})
	return &logical.Call{Name: "pg_get_userbyid", Args: []logical.Expr{arg}, T: types.NameT, Kernel: kernel}, true, nil
}

// privilegeArgs checks the number of a has_*_privilege call's arguments
// (want, or want+1 with a role first) and coerces each to text, or to an
// integer where an OID or number is given (byNumber set for those).
func (b *Binder) privilegeArgs(name string, args []logical.Expr, want int) (byNumber []bool, err error) {
	if len(args) != want && len(args) != want+1 {
		ts := make([]types.T, len(args))
		for i, a := range args {
			ts[i] = a.Type()
		}
		return nil, exec.NoSuchFunction(name, ts)
	}
	byNumber = make([]bool, len(args))
	for i := range args {
		t := args[i].Type()
		to := types.TextT
		if t.IsInteger() || t.IsRegType() || t.PG == types.OIDT.PG {
			to, byNumber[i] = types.Int8T, true
		}
		if args[i], err = b.coerce(args[i], to); err != nil {
			return nil, err
		}
	}
	return byNumber, nil
}
