package catalog

import (
	"sort"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// UserType is a type made by CREATE TYPE … AS ENUM or CREATE DOMAIN.
type UserType struct {
	OID, ArrayOID uint32
	Schema, Name  string
	// Enum is set for an enum type.
	Enum *types.EnumDef `json:",omitempty"`
	// A domain: its base type, whether it refuses NULL, and its CHECK
	// condition (SQL over VALUE, "" for none) with the constraint's name.
	Base      types.T `json:",omitempty"`
	NotNull   bool    `json:",omitempty"`
	Check     string  `json:",omitempty"`
	CheckName string  `json:",omitempty"`
	// Fields are a composite type's (CREATE TYPE … AS (…)).
	Fields []types.RecordField `json:",omitempty"`
}

// IsDomain reports whether u is a domain.
func (u *UserType) IsDomain() bool { return u.Enum == nil && u.Fields == nil }

// IsComposite reports whether u is a composite type.
func (u *UserType) IsComposite() bool { return u.Fields != nil }

// CompositeT is the type of a composite type's values.
func (u *UserType) CompositeT() types.T { return types.CompositeOf(u.OID, u.Name, u.Fields) }

// CreateType adds a user type, giving it (and its array type) new OIDs
// unless keepOIDs (a type read back from the data directory).
func (c *Catalog) CreateType(u *UserType, keepOIDs bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[u.Schema]
	if !ok {
		return sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", u.Schema)
	}
	if _, exists := s.Types[u.Name]; exists {
		return sqlerr.New(sqlerr.DuplicateObject, "type \"%s\" already exists", u.Name)
	}
	if _, builtin := types.FromName(u.Name, nil); builtin && u.Schema == "public" {
		return sqlerr.New(sqlerr.DuplicateObject, "type \"%s\" already exists", u.Name)
	}
	if !keepOIDs {
		u.OID, u.ArrayOID = c.allocOID(), c.allocOID()
	} else {
		c.nextOID = max(c.nextOID, u.OID, u.ArrayOID)
	}
	if u.Enum != nil {
		u.Enum.OID, u.Enum.ArrayOID, u.Enum.Schema, u.Enum.Name = u.OID, u.ArrayOID, u.Schema, u.Name
	}
	if s.Types == nil {
		s.Types = map[string]*UserType{}
	}
	s.Types[u.Name] = u
	return nil
}

// LookupType finds a user type by name along the search path.
func (c *Catalog) LookupType(schema, name string, searchPath []string) (*UserType, bool) {
	var u *UserType
	found := c.firstInPath(schema, searchPath, func(s *Schema) bool {
		u = s.Types[name]
		return u != nil
	})
	return u, found
}

// TypeByOID finds a user type (or its array type) by OID.
func (c *Catalog) TypeByOID(oid uint32) (u *UserType, isArray bool, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.schemas {
		for _, u := range s.Types {
			switch oid {
			case u.OID:
				return u, false, true
			case u.ArrayOID:
				return u, true, true
			}
		}
	}
	return nil, false, false
}

// Types lists the user types, by OID.
func (c *Catalog) Types() []*UserType {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*UserType
	for _, s := range c.schemas {
		for _, u := range s.Types {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// DropType removes a user type that no table column uses.
func (c *Catalog) DropType(schema, name string, searchPath []string, ifExists bool) error {
	u, ok := c.LookupType(schema, name, searchPath)
	if !ok {
		if ifExists {
			return nil
		}
		return sqlerr.New(sqlerr.UndefinedObject, "type \"%s\" does not exist", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.schemas {
		for _, t := range s.Tables {
			for _, col := range t.Columns {
				if col.Type.Enum != nil && col.Type.Enum.OID == u.OID || col.Domain == u.OID || col.Type.IsComposite() && col.Type.PG == u.OID {
					return sqlerr.New(sqlerr.DependentObjects, "cannot drop type %s because other objects depend on it", u.Name).
						WithDetail("column " + col.Name + " of table " + t.Name + " depends on type " + u.Name)
				}
			}
		}
	}
	for _, s := range c.schemas {
		for _, other := range s.Types {
			for _, f := range other.Fields {
				if f.T.Enum != nil && f.T.Enum.OID == u.OID || f.T.IsComposite() && f.T.PG == u.OID {
					return sqlerr.New(sqlerr.DependentObjects, "cannot drop type %s because other objects depend on it", u.Name).
						WithDetail("column " + f.Name + " of composite type " + other.Name + " depends on type " + u.Name)
				}
			}
		}
	}
	delete(c.schemas[u.Schema].Types, u.Name)
	return nil
}

// LinkEnums points the enum types of columns read back from the data
// directory at the catalog's own definitions, so that types compare equal.
func (c *Catalog) LinkEnums(cols []Column) {
	for i := range cols {
		if e := cols[i].Type.Enum; e != nil {
			if u, _, ok := c.TypeByOID(e.OID); ok && u.Enum != nil {
				cols[i].Type.Enum = u.Enum
			}
		}
	}
}
