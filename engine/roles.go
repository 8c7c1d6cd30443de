package engine

import (
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/scram"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// roleChange is what a CREATE or ALTER ROLE statement asks for, parsed
// before anything is checked or applied (nil: not mentioned).
type roleChange struct {
	superuser, createRole, createDB, login, inherit, replication, bypassRLS *bool
	password                                                                *string // "" for PASSWORD NULL
	connLimit                                                               *int32
	validUntil                                                              **time.Time
	inRoles, members, admins                                                []string
}

func parseRoleOptions(opts []*pg.Node) (*roleChange, error) {
	ch := &roleChange{}
	for _, o := range opts {
		d := o.GetDefElem()
		flag := func() *bool { v := d.Arg == nil || d.Arg.GetBoolean().GetBoolval(); return &v }
		switch d.Defname {
		case "superuser":
			ch.superuser = flag()
		case "createrole":
			ch.createRole = flag()
		case "createdb":
			ch.createDB = flag()
		case "canlogin":
			ch.login = flag()
		case "inherit":
			ch.inherit = flag()
		case "isreplication", "replication":
			ch.replication = flag()
		case "bypassrls":
			ch.bypassRLS = flag()
		case "connectionlimit":
			n := d.Arg.GetInteger().GetIval()
			if n < -1 {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid connection limit: %d", n)
			}
			ch.connLimit = &n
		case "password":
			pw := ""
			if d.Arg != nil {
				pw = d.Arg.GetString_().GetSval()
			}
			ch.password = &pw
		case "validUntil":
			t, err := parseValidUntil(d.Arg.GetString_().GetSval())
			if err != nil {
				return nil, err
			}
			ch.validUntil = &t
		case "addroleto":
			ch.inRoles = append(ch.inRoles, roleSpecNames(d.Arg.GetList().GetItems())...)
		case "rolemembers":
			ch.members = append(ch.members, roleSpecNames(d.Arg.GetList().GetItems())...)
		case "adminmembers":
			ch.admins = append(ch.admins, roleSpecNames(d.Arg.GetList().GetItems())...)
		case "sysid":
			// ignored, as PostgreSQL does
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "role option %s is not supported", d.Defname)
		}
	}
	return ch, nil
}

// parseValidUntil reads VALID UNTIL's timestamp; nil is 'infinity'.
func parseValidUntil(s string) (*time.Time, error) {
	if strings.EqualFold(strings.TrimSpace(s), "infinity") {
		return nil, nil
	}
	d, err := types.ParseTimestamp(types.TimestampTZT, s)
	if err != nil {
		return nil, err
	}
	t := time.UnixMicro(d.(int64)).UTC()
	return &t, nil
}

func roleSpecNames(items []*pg.Node) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.GetRoleSpec().GetRolename())
	}
	return out
}

// apply sets the attributes ch names on r.
func (ch *roleChange) apply(r *catalog.Role) error {
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.Superuser, ch.superuser)
	set(&r.CreateRole, ch.createRole)
	set(&r.CreateDB, ch.createDB)
	set(&r.Login, ch.login)
	set(&r.Replication, ch.replication)
	set(&r.BypassRLS, ch.bypassRLS)
	if ch.inherit != nil {
		r.NoInherit = !*ch.inherit
	}
	if ch.connLimit != nil {
		n := *ch.connLimit
		r.ConnLimit = &n
		if n == -1 {
			r.ConnLimit = nil
		}
	}
	if ch.validUntil != nil {
		r.ValidUntil = *ch.validUntil
	}
	if ch.password != nil {
		v, err := verifierFor(*ch.password)
		if err != nil {
			return err
		}
		r.Verifier = v
	}
	return nil
}

// verifierFor stores a password as a SCRAM verifier; one given already in
// that form, as psql's \password sends it, is kept as is.
func verifierFor(pw string) (string, error) {
	if pw == "" {
		return "", nil
	}
	if strings.HasPrefix(pw, "SCRAM-SHA-256$") {
		if _, err := scram.Parse(pw); err != nil {
			return "", sqlerr.New(sqlerr.InvalidParameter, "invalid SCRAM verifier: %v", err)
		}
		return pw, nil
	}
	v, err := scram.NewVerifier(pw)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

func denied(format string, args ...any) *sqlerr.Error {
	return sqlerr.New(sqlerr.InsufficientPrivilege, format, args...)
}

// hasCreateRole is PostgreSQL's have_createrole_privilege.
func (s *Session) hasCreateRole() bool {
	r, ok := s.db.cat.Role(s.currentRole())
	return ok && (r.Superuser || r.CreateRole)
}

func (s *Session) isSuperuser() bool { return s.db.cat.IsSuperuser(s.currentRole()) }

func (s *Session) createRole(st *pg.CreateRoleStmt) (*Result, error) {
	ch, err := parseRoleOptions(st.Options)
	if err != nil {
		return nil, err
	}
	// PostgreSQL 15's checks, in its order
	switch {
	case ch.superuser != nil && *ch.superuser && !s.isSuperuser():
		return nil, denied("must be superuser to create superusers")
	case ch.replication != nil && *ch.replication && !s.isSuperuser():
		return nil, denied("must be superuser to create replication users")
	case ch.bypassRLS != nil && *ch.bypassRLS && !s.isSuperuser():
		return nil, denied("must be superuser to create bypassrls users")
	case !s.hasCreateRole():
		return nil, denied("permission denied to create role")
	}
	if catalog.IsReservedRoleName(st.Role) {
		prefix := st.Role[:strings.IndexByte(st.Role, '_')+1]
		return nil, sqlerr.New(sqlerr.ReservedName, "role name \"%s\" is reserved", st.Role).
			WithDetail("Role names starting with \"" + prefix + "\" are reserved.")
	}
	r := catalog.Role{Name: st.Role, Login: st.StmtType == pg.RoleStmtType_ROLESTMT_USER}
	if err := ch.apply(&r); err != nil {
		return nil, err
	}
	for _, list := range [][]string{ch.inRoles, ch.members, ch.admins} {
		for _, n := range list {
			if _, ok := s.db.cat.Role(n); !ok {
				return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", n)
			}
		}
	}
	if err := s.db.cat.CreateRole(r); err != nil {
		return nil, err
	}
	name := strings.ToLower(st.Role)
	res := &Result{Tag: "CREATE ROLE"}
	for _, g := range ch.inRoles {
		if err := s.grantRole(res, g, name, false); err != nil {
			return nil, err
		}
	}
	for _, m := range ch.members {
		if err := s.grantRole(res, name, m, false); err != nil {
			return nil, err
		}
	}
	for _, m := range ch.admins {
		if err := s.grantRole(res, name, m, true); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (s *Session) alterRole(st *pg.AlterRoleStmt) (*Result, error) {
	ch, err := parseRoleOptions(st.Options)
	if err != nil {
		return nil, err
	}
	name, err := s.roleSpecName(st.Role)
	if err != nil {
		return nil, err
	}
	if len(ch.inRoles)+len(ch.members)+len(ch.admins) > 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ALTER ROLE with role members is not supported: use GRANT")
	}
	current, ok := s.db.cat.Role(name)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
	}
	// checked outside the catalog's lock, which the checks take themselves
	if err := s.mayAlterRole(&current, ch); err != nil {
		return nil, err
	}
	if err := s.db.cat.AlterRole(name, ch.apply); err != nil {
		return nil, err
	}
	return &Result{Tag: "ALTER ROLE"}, nil
}

// mayAlterRole is PostgreSQL 15's AlterRole check: superusers (and the
// superuser attribute) only by superusers; other roles by CREATEROLE; a
// role without it may change only its own password. The bootstrap role
// keeps SUPERUSER (PostgreSQL 16's rule, so an instance keeps an admin).
func (s *Session) mayAlterRole(r *catalog.Role, ch *roleChange) error {
	super := s.isSuperuser()
	switch {
	case (r.Superuser || ch.superuser != nil) && !super:
		return denied("must be superuser to alter superuser roles or change superuser attribute")
	case (r.Replication || ch.replication != nil) && !super:
		return denied("must be superuser to alter replication roles or change replication attribute")
	case ch.bypassRLS != nil && !super:
		return denied("must be superuser to change bypassrls attribute")
	case !s.hasCreateRole():
		onlyOwnPassword := ch.inherit == nil && ch.createRole == nil && ch.createDB == nil && ch.login == nil &&
			ch.connLimit == nil && ch.validUntil == nil && ch.password != nil && r.Name == s.currentRole()
		if !onlyOwnPassword {
			return denied("permission denied")
		}
	}
	if r.Bootstrap && ch.superuser != nil && !*ch.superuser {
		return denied("permission denied to alter role").WithDetail("The bootstrap user must have the SUPERUSER attribute.")
	}
	return nil
}

// roleSpecName resolves CURRENT_USER, SESSION_USER and names.
func (s *Session) roleSpecName(spec *pg.RoleSpec) (string, error) {
	switch spec.GetRoletype() {
	case pg.RoleSpecType_ROLESPEC_CURRENT_USER, pg.RoleSpecType_ROLESPEC_CURRENT_ROLE:
		return s.currentRole(), nil
	case pg.RoleSpecType_ROLESPEC_SESSION_USER:
		return s.user, nil
	case pg.RoleSpecType_ROLESPEC_PUBLIC:
		return "", sqlerr.New(sqlerr.ReservedName, "role name \"public\" is reserved")
	}
	return strings.ToLower(spec.GetRolename()), nil
}

func (s *Session) dropRole(st *pg.DropRoleStmt) (*Result, error) {
	if !s.hasCreateRole() {
		return nil, denied("permission denied to drop role")
	}
	res := &Result{Tag: "DROP ROLE"}
	for _, n := range st.Roles {
		name, err := s.roleSpecName(n.GetRoleSpec())
		if err != nil {
			return nil, err
		}
		r, ok := s.db.cat.Role(name)
		switch {
		case !ok && st.MissingOk:
			res.Notices = append(res.Notices, "role \""+name+"\" does not exist, skipping")
			continue
		case !ok:
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
		case r.Name == s.currentRole():
			return nil, sqlerr.New(sqlerr.ObjectInUse, "current user cannot be dropped")
		case r.Name == s.user:
			return nil, sqlerr.New(sqlerr.ObjectInUse, "session user cannot be dropped")
		case r.Superuser && !s.isSuperuser():
			return nil, denied("must be superuser to drop superusers")
		case r.Bootstrap || r.Predefined:
			return nil, sqlerr.New(sqlerr.DependentObjects, "cannot drop role %s because it is required by the database system", r.Name)
		}
		if _, err := s.db.cat.DropRole(name, false); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// grantRoleStmt runs GRANT role TO member and REVOKE role FROM member.
func (s *Session) grantRoleStmt(st *pg.GrantRoleStmt) (*Result, error) {
	admin := false
	for _, o := range st.Opt {
		if d := o.GetDefElem(); d != nil && d.Defname == "admin" {
			admin = true
		}
	}
	res := &Result{Tag: "GRANT ROLE"}
	if !st.IsGrant {
		res.Tag = "REVOKE ROLE"
	}
	if s.tx != nil {
		// ROLLBACK restores the memberships
		before := s.db.cat.Memberships()
		s.undoCreate(func() { s.db.cat.RestoreMemberships(before) })
	}
	for _, rn := range st.GrantedRoles {
		role := strings.ToLower(rn.GetAccessPriv().GetPrivName())
		for _, mn := range st.GranteeRoles {
			member, err := s.roleSpecName(mn.GetRoleSpec())
			if err != nil {
				return nil, err
			}
			if st.IsGrant {
				err = s.grantRole(res, role, member, admin)
			} else {
				err = s.revokeRole(res, role, member, admin)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// mayGrantRole is PostgreSQL 15's check for changing role's members.
func (s *Session) mayGrantRole(role string) (catalog.Role, error) {
	r, ok := s.db.cat.Role(role)
	if !ok {
		return r, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", role)
	}
	switch {
	case r.Superuser && !s.isSuperuser():
		return r, denied("must be superuser to alter superusers")
	case !r.Superuser && !s.hasCreateRole() && !s.db.cat.HasAdminOf(s.currentRole(), role):
		return r, denied("must have admin option on role \"%s\"", role)
	case r.Name == catalog.RoleDatabaseOwner:
		return r, sqlerr.New(sqlerr.Internal, "role \"%s\" cannot have explicit members", role)
	}
	return r, nil
}

func (s *Session) grantRole(res *Result, role, member string, admin bool) error {
	if _, err := s.mayGrantRole(role); err != nil {
		return err
	}
	if _, ok := s.db.cat.Role(member); !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", member)
	}
	for _, m := range s.db.cat.Memberships() {
		if m.Role == role && m.Member == member && (m.Admin || !admin) {
			res.Notices = append(res.Notices, "role \""+member+"\" is already a member of role \""+role+"\"")
			return nil
		}
	}
	return s.db.cat.GrantRole(role, member, s.currentRole(), admin)
}

func (s *Session) revokeRole(res *Result, role, member string, adminOnly bool) error {
	if _, err := s.mayGrantRole(role); err != nil {
		return err
	}
	if _, ok := s.db.cat.Role(member); !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", member)
	}
	if !s.db.cat.RevokeRole(role, member, adminOnly) {
		res.Notices = append(res.Notices, "role \""+member+"\" is not a member of role \""+role+"\"")
	}
	return nil
}

// setRole runs SET ROLE: the session acts as a role it is a member of
// ("none" goes back to the session user).
func (s *Session) setRole(name string) error {
	name = strings.ToLower(name)
	if name == "none" {
		s.role = ""
		return nil
	}
	if _, ok := s.db.cat.Role(name); !ok {
		return sqlerr.New(sqlerr.InvalidParameter, "role \"%s\" does not exist", name)
	}
	if !s.db.cat.IsMemberOfRole(s.user, name) {
		return denied("permission denied to set role \"%s\"", name)
	}
	s.role = name
	return nil
}

// setSessionAuthorization runs SET SESSION AUTHORIZATION: only a
// session that logged in as a superuser may take another identity.
func (s *Session) setSessionAuthorization(name string) error {
	name = strings.ToLower(name)
	if _, ok := s.db.cat.Role(name); !ok {
		return sqlerr.New(sqlerr.InvalidParameter, "role \"%s\" does not exist", name)
	}
	if name != s.authUser && !s.db.cat.IsSuperuser(s.authUser) {
		return denied("permission denied to set session authorization \"%s\"", name)
	}
	s.user, s.role = name, ""
	return nil
}

// currentRole is current_user: the SET ROLE role, else the session user.
func (s *Session) currentRole() string {
	if s.role != "" {
		return s.role
	}
	return s.user
}

// Role returns a role for authentication.
func (db *DB) Role(name string) (catalog.Role, bool) { return db.cat.Role(name) }
