package engine

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// nativeExtensions are the extensions whose functions Weft provides
// itself, with the version PostgreSQL 15 ships: CREATE EXTENSION of one of
// them records it (pg_extension shows it); any other is refused as
// PostgreSQL refuses an extension that is not installed on the server.
var nativeExtensions = map[string]string{
	"plpgsql":   "1.0", // always there, as in PostgreSQL
	"uuid-ossp": "1.1", // uuid_generate_v1, _v4, uuid_nil, the namespaces
	"pgcrypto":  "1.3", // gen_random_uuid, digest
}

func (s *Session) createExtension(st *pg.CreateExtensionStmt) (*Result, error) {
	version, ok := nativeExtensions[st.Extname]
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "extension \"%s\" is not available", st.Extname).
			WithDetail("Weft provides the functions of these extensions natively: " + strings.Join(nativeExtensionNames(), ", ") + ".").
			WithHint("The extension must first be installed on the system where PostgreSQL is running.")
	}
	explicit := ""
	for _, o := range st.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "schema":
			explicit = settingValue([]*pg.Node{d.Arg})
		case "new_version":
			if v := settingValue([]*pg.Node{d.Arg}); v != version {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "extension \"%s\" has no installation script nor update path for version \"%s\"", st.Extname, v)
			}
		}
	}
	// the extensions Weft knows are all trusted ones in PostgreSQL: a
	// role that may create objects in the schema may install them
	schema, err := s.targetSchema(explicit)
	if err != nil {
		return nil, err
	}
	if st.Extname == "plpgsql" {
		if !st.IfNotExists {
			return nil, sqlerr.New(sqlerr.DuplicateObject, "extension \"plpgsql\" already exists")
		}
		return &Result{Tag: "CREATE EXTENSION", Notices: []string{"extension \"plpgsql\" already exists, skipping"}}, nil
	}
	created, err := s.db.cat.CreateExtension(catalog.Extension{Name: st.Extname, Schema: schema, Version: version}, st.IfNotExists)
	if err != nil {
		return nil, err
	}
	res := &Result{Tag: "CREATE EXTENSION"}
	if !created {
		res.Notices = []string{"extension \"" + st.Extname + "\" already exists, skipping"}
		return res, nil
	}
	s.undoOnRollback(func() { s.db.cat.DropExtension(st.Extname, true) })
	return res, nil
}

func (s *Session) dropExtensions(st *pg.DropStmt) (*Result, error) {
	res := &Result{Tag: "DROP EXTENSION"}
	for _, obj := range st.Objects {
		name := obj.GetString_().GetSval()
		var kept catalog.Extension
		for _, e := range s.db.cat.Extensions() {
			if e.Name == name {
				kept = e
			}
		}
		dropped, err := s.db.cat.DropExtension(name, st.MissingOk)
		if err != nil {
			return nil, err
		}
		if !dropped {
			res.Notices = append(res.Notices, "extension \""+name+"\" does not exist, skipping")
			continue
		}
		s.undoOnRollback(func() { s.db.cat.CreateExtension(kept, true) })
	}
	return res, nil
}

func nativeExtensionNames() []string {
	return []string{"pgcrypto", "plpgsql", "uuid-ossp"}
}

// undoOnRollback makes ROLLBACK of the current block run undo.
func (s *Session) undoOnRollback(undo func()) {
	if s.tx != nil {
		s.tx.undoLater = append(s.tx.undoLater, undo)
	}
}
