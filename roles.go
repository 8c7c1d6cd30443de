package weft

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/scram"
	"github.com/weftdb/weft/sql/sqlerr"
)

// roleOptions applies CREATE/ALTER ROLE options: LOGIN/NOLOGIN and
// PASSWORD (stored as a SCRAM verifier; one given already in that form, as
// psql's \password sends it, is kept as is).
func roleOptions(r *catalog.Role, opts []*pg.Node) error {
	for _, o := range opts {
		d := o.GetDefElem()
		switch d.Defname {
		case "canlogin":
			r.Login = d.Arg.GetBoolean().GetBoolval()
		case "password":
			if d.Arg == nil {
				r.Verifier = ""
				continue
			}
			pw := d.Arg.GetString_().GetSval()
			if strings.HasPrefix(pw, "SCRAM-SHA-256$") {
				if _, err := scram.Parse(pw); err != nil {
					return sqlerr.New(sqlerr.InvalidParameter, "invalid SCRAM verifier: %v", err)
				}
				r.Verifier = pw
				continue
			}
			v, err := scram.NewVerifier(pw)
			if err != nil {
				return err
			}
			r.Verifier = v.String()
		case "superuser", "createdb", "createrole", "inherit", "replication", "bypassrls", "connectionlimit", "validUntil":
			// accepted for compatibility; Weft has one privilege level
		default:
			return sqlerr.New(sqlerr.FeatureNotSupported, "role option %s is not supported", d.Defname)
		}
	}
	return nil
}

func (s *Session) createRole(st *pg.CreateRoleStmt) (*Result, error) {
	r := catalog.Role{Name: st.Role, Login: st.StmtType == pg.RoleStmtType_ROLESTMT_USER}
	if err := roleOptions(&r, st.Options); err != nil {
		return nil, err
	}
	if err := s.db.cat.CreateRole(r); err != nil {
		return nil, err
	}
	return &Result{Tag: "CREATE ROLE"}, nil
}

func (s *Session) alterRole(st *pg.AlterRoleStmt) (*Result, error) {
	var optErr error
	err := s.db.cat.AlterRole(st.Role.GetRolename(), func(r *catalog.Role) { optErr = roleOptions(r, st.Options) })
	if err != nil {
		return nil, err
	}
	if optErr != nil {
		return nil, optErr
	}
	return &Result{Tag: "ALTER ROLE"}, nil
}

func (s *Session) dropRole(st *pg.DropRoleStmt) (*Result, error) {
	for _, r := range st.Roles {
		if err := s.db.cat.DropRole(r.GetRoleSpec().GetRolename(), st.MissingOk); err != nil {
			return nil, err
		}
	}
	return &Result{Tag: "DROP ROLE"}, nil
}

// Role returns a login role's SCRAM verifier for authentication.
func (db *DB) Role(name string) (catalog.Role, bool) { return db.cat.Role(name) }
