package binder

import (
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

// checkRole is whose privileges a reference is checked with: the
// session's current role, or a view's owner while its query binds (as in
// PostgreSQL, a view reads its tables with its owner's rights). "" skips
// the checks (a binder no session made).
func (b *Binder) checkRole() string {
	if n := len(b.viewOwners); n > 0 {
		return b.viewOwners[n-1]
	}
	return b.User
}

func permissionDenied(kind catalog.ObjectKind, name string) error {
	return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s %s", kind.Noun(), name)
}

// requireUsage checks USAGE on the schema an object is found in.
func (b *Binder) requireUsage(schema string) error {
	role := b.checkRole()
	if role == "" {
		return nil
	}
	sc, ok := b.Cat.Schema(schema)
	if !ok || sc.Temp || b.Cat.HasPrivilege(role, sc.OID, catalog.KindSchema, catalog.PrivUsage) {
		return nil
	}
	return permissionDenied(catalog.KindSchema, sc.Name)
}

// requireOn checks a privilege on an object found in schema.
func (b *Binder) requireOn(oid uint32, kind catalog.ObjectKind, schema, name string, want catalog.Priv) error {
	role := b.checkRole()
	if role == "" {
		return nil
	}
	if err := b.requireUsage(schema); err != nil {
		return err
	}
	if !b.Cat.HasPrivilege(role, oid, kind, want) {
		return permissionDenied(kind, name)
	}
	return nil
}

// requireAnyOn checks that the role holds one of the privileges in any.
func (b *Binder) requireAnyOn(oid uint32, kind catalog.ObjectKind, schema, name string, any catalog.Priv) error {
	role := b.checkRole()
	if role == "" {
		return nil
	}
	if err := b.requireUsage(schema); err != nil {
		return err
	}
	if held, _ := b.Cat.PrivilegesHeld(role, oid, kind); held&any == 0 {
		return permissionDenied(kind, name)
	}
	return nil
}

// requireExecute checks EXECUTE on the candidate that was picked.
func (b *Binder) requireExecute(cands []*catalog.Function, f *udf.Function) error {
	for _, c := range cands {
		if c.UDF == f {
			return b.requireOn(c.OID, catalog.KindFunction, c.Schema, f.Name, catalog.PrivExecute)
		}
	}
	return nil
}

// requireRole checks that the role has the privileges of a predefined
// role guarding a capability (superusers always do), in PostgreSQL 15's
// words: "must be superuser or have privileges of the X role to …".
func (b *Binder) requireRole(role, what string) *sqlerr.Error {
	me := b.checkRole()
	if me == "" || b.Cat.HasPrivsOfRole(me, role) {
		return nil
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser or have privileges of the %s role to %s", role, what)
}
