// Package catalog holds schemas, tables, views and table data. Table data is
// a list of partitions of immutable Arrow record batches; a write installs a
// new snapshot, so readers keep a consistent view while a writer commits.
package catalog

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Column is a table column.
type Column struct {
	Name    string
	Type    types.T
	NotNull bool
	// Default is the DEFAULT expression's SQL text ("" for none).
	Default string
	// Domain is the OID of the domain the column was declared with (its
	// Type is the domain's base type), 0 for none.
	Domain uint32 `json:",omitempty"`
	// Identity is "a" for GENERATED ALWAYS AS IDENTITY, "d" for BY
	// DEFAULT, "" for other columns (its default draws from a sequence).
	Identity string `json:",omitempty"`
	// Generated is a stored generated column's expression (GENERATED
	// ALWAYS AS (…) STORED) as SQL text over the row's other columns, ""
	// for other columns: every write computes it.
	Generated string `json:",omitempty"`
	// Comment is COMMENT ON COLUMN's text.
	Comment string `json:",omitempty"`
	// ACL is the column's own privileges (GRANT SELECT (col) ON …), nil
	// for none (colacl.go).
	ACL []ACLItem `json:",omitempty"`
}

// Table is a base table.
type Table struct {
	OID     uint32
	Schema  string
	Name    string
	Columns []Column
	// Keys are the table's PRIMARY KEY and UNIQUE constraints.
	Keys []Key
	// Checks are its CHECK constraints.
	Checks []Check
	// ForeignKeys are its references to other tables' keys.
	ForeignKeys []ForeignKey
	// Comment is COMMENT ON TABLE's text.
	Comment string
	// Indexes are its non-unique indexes (CREATE INDEX); with Keys they
	// are the indexes queries find rows through (index.go).
	Indexes []Key
	// Cache is its weft.cache storage parameter: "memory" keeps its
	// partitions in memory where they are scanned (CALL weft.cache), ""
	// none.
	Cache string
	// MatView is a materialized view's defining query (SQL text); "" for
	// a table. A materialized view is a table whose rows only REFRESH
	// MATERIALIZED VIEW writes.
	MatView string
	// Unpopulated marks a materialized view created or refreshed WITH NO
	// DATA: reading it is an error until a REFRESH fills it.
	Unpopulated bool

	mu     sync.Mutex // serializes writers
	snapMu sync.Mutex // guards swapping data against readers taking a reference
	data   atomic.Pointer[Snapshot]
	stats  atomic.Pointer[TableStats] // see Stats
	schema atomic.Pointer[madeSchema] // see ArrowSchema
}

// madeSchema is a table's Arrow schema with the columns it was made from.
type madeSchema struct {
	cols   []Column
	schema *arrow.Schema
}

// View is a stored query.
type View struct {
	OID     uint32
	Schema  string
	Name    string
	SQL     string
	Columns []string // optional column aliases
}

// Schema is a namespace.
type Schema struct {
	OID    uint32
	Name   string
	Tables map[string]*Table
	Views  map[string]*View
	// Funcs holds user-defined functions by name; overloads differ in
	// argument types.
	Funcs map[string][]*Function
	// Types holds enums and domains by name.
	Types map[string]*UserType
	// Sequences holds sequences by name.
	Sequences map[string]*Sequence
	// Temp marks a session's schema of temporary tables: never stored,
	// dropped when the session ends.
	Temp bool
}

// Catalog is the set of schemas. It is safe for concurrent use.
type Catalog struct {
	mu         sync.RWMutex
	schemas    map[string]*Schema
	nextOID    uint32
	mem        memory.Allocator
	partitions int
	roles      map[string]*Role
	members    []Membership
	privs      map[uint32]*ObjectPrivileges // owners and ACLs, by object OID
	extensions map[string]Extension         // by name (extension.go)
	// defaultPrivs are ALTER DEFAULT PRIVILEGES entries (defaultacl.go)
	defaultPrivs []DefaultPrivileges
}

// New returns a catalog with the public schema. Table data is allocated
// from mem and split into the given number of partitions.
func New(mem memory.Allocator, partitions int) *Catalog {
	if partitions <= 0 {
		partitions = 1
	}
	c := &Catalog{schemas: map[string]*Schema{}, nextOID: 16384, mem: mem, partitions: partitions}
	c.schemas["public"] = &Schema{OID: 2200, Name: "public", Tables: map[string]*Table{}, Views: map[string]*View{}, Funcs: map[string][]*Function{}}
	return c
}

// Mem is the allocator table data lives in.
func (c *Catalog) Mem() memory.Allocator { return c.mem }

// Partitions is the number of partitions new tables get.
func (c *Catalog) Partitions() int { return c.partitions }

// AllocOID hands out a new object identifier.
func (c *Catalog) AllocOID() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.allocOID()
}

func (c *Catalog) allocOID() uint32 {
	c.nextOID++
	return c.nextOID
}

// CreateSchema adds a schema.
func (c *Catalog) CreateSchema(name string, ifNotExists bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.schemas[name]; ok {
		if ifNotExists {
			return nil
		}
		return sqlerr.New(sqlerr.DuplicateSchema, "schema \"%s\" already exists", name)
	}
	c.schemas[name] = &Schema{OID: c.allocOID(), Name: name, Tables: map[string]*Table{}, Views: map[string]*View{}, Funcs: map[string][]*Function{}}
	return nil
}

// DropSchema removes a schema (with cascade, its objects too).
func (c *Catalog) DropSchema(name string, ifExists, cascade bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[name]
	if !ok {
		if ifExists {
			return nil
		}
		return sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", name)
	}
	if !cascade && (len(s.Tables) > 0 || len(s.Views) > 0 || len(s.Funcs) > 0) {
		return sqlerr.New(sqlerr.DependentObjects, "cannot drop schema %s because other objects depend on it", name)
	}
	for _, t := range s.Tables {
		t.setData(nil)
	}
	delete(c.schemas, name)
	return nil
}

// Schemas lists schemas by name.
func (c *Catalog) Schemas() []*Schema {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Schema, 0, len(c.schemas))
	for _, s := range c.schemas {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TableByOID finds a table by its OID (nil if there is none).
func (c *Catalog) TableByOID(oid uint32) *Table {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.schemas {
		for _, t := range s.Tables {
			if t.OID == oid {
				return t
			}
		}
	}
	return nil
}

// Schema returns a schema by name.
func (c *Catalog) Schema(name string) (*Schema, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.schemas[name]
	return s, ok
}

// Lookup resolves a possibly-qualified relation name against the search
// path; it returns a table or a view.
func (c *Catalog) Lookup(schema, name string, searchPath []string) (*Table, *View, bool) {
	var t *Table
	var v *View
	found := c.firstInPath(schema, searchPath, func(s *Schema) bool {
		t, v = s.Tables[name], s.Views[name]
		return t != nil || v != nil
	})
	return t, v, found
}

// firstInPath calls found with the schemas a name may live in (the named
// one, else the search path in order) until it reports a find.
func (c *Catalog) firstInPath(schema string, searchPath []string, found func(*Schema) bool) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	path := searchPath
	if schema != "" {
		path = []string{schema}
	}
	if schema == "pg_temp" {
		// the session's temporary schema, which leads its search path
		path = nil
		for _, sn := range searchPath {
			if s, ok := c.schemas[sn]; ok && s.Temp {
				path = []string{sn}
				break
			}
		}
	}
	for _, sn := range path {
		if s, ok := c.schemas[sn]; ok && found(s) {
			return true
		}
	}
	return false
}

// CreateTable adds a table with empty partitions.
func (c *Catalog) CreateTable(schema, name string, cols []Column, ifNotExists bool) (*Table, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[schema]
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", schema)
	}
	if _, exists := s.Tables[name]; exists || s.Views[name] != nil || s.Sequences[name] != nil {
		if ifNotExists {
			return nil, nil
		}
		return nil, sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", name)
	}
	seen := map[string]bool{}
	for _, col := range cols {
		if seen[col.Name] {
			return nil, sqlerr.New(sqlerr.DuplicateColumn, "column \"%s\" specified more than once", col.Name)
		}
		seen[col.Name] = true
	}
	t := &Table{OID: c.allocOID(), Schema: schema, Name: name, Columns: cols}
	t.data.Store(newSnapshot(c.partitions))
	s.Tables[name] = t
	return t, nil
}

// DropTable removes a table and releases its data.
func (c *Catalog) DropTable(schema, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[schema]
	if !ok || s.Tables[name] == nil {
		return sqlerr.New(sqlerr.UndefinedTable, "table \"%s\" does not exist", name)
	}
	s.Tables[name].setData(nil)
	delete(s.Tables, name)
	return nil
}

// CreateView adds a view.
func (c *Catalog) CreateView(schema, name, sql string, cols []string, replace bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[schema]
	if !ok {
		return sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", schema)
	}
	if s.Tables[name] != nil || (s.Views[name] != nil && !replace) {
		return sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", name)
	}
	oid := c.allocOID()
	if old := s.Views[name]; old != nil {
		oid = old.OID
	}
	s.Views[name] = &View{OID: oid, Schema: schema, Name: name, SQL: sql, Columns: cols}
	return nil
}

// SetViewSQL changes the query text of view schema.name (DDL renaming
// what it reads): the catalog gets a new View, so that a reader holding
// the old one keeps a consistent one.
func (c *Catalog) SetViewSQL(schema, name, sql string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[schema]; ok && s.Views[name] != nil {
		v := *s.Views[name]
		v.SQL = sql
		s.Views[name] = &v
	}
}

// SetViewColumns changes the column names of view schema.name (ALTER
// VIEW … RENAME COLUMN), as SetViewSQL.
func (c *Catalog) SetViewColumns(schema, name string, cols []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[schema]; ok && s.Views[name] != nil {
		v := *s.Views[name]
		v.Columns = cols
		s.Views[name] = &v
	}
}

// RenameView renames view schema.from to: the catalog gets a new View,
// as SetViewSQL.
func (c *Catalog) RenameView(schema, from, to string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[schema]
	if !ok || s.Views[from] == nil {
		return sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", from)
	}
	if s.Tables[to] != nil || s.Views[to] != nil || s.Sequences[to] != nil {
		return sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", to)
	}
	v := *s.Views[from]
	v.Name = to
	delete(s.Views, from)
	s.Views[to] = &v
	return nil
}

// DropView removes a view.
func (c *Catalog) DropView(schema, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[schema]
	if !ok || s.Views[name] == nil {
		return sqlerr.New(sqlerr.UndefinedTable, "view \"%s\" does not exist", name)
	}
	delete(s.Views, name)
	return nil
}

// Close releases all table data.
func (c *Catalog) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.schemas {
		for _, t := range s.Tables {
			t.setData(nil)
		}
	}
}

// ColumnIndex finds a column by name.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// ArrowSchema is the Arrow schema of the table's batches.
// It is made once for the table's columns (every one-row write asked for
// it anew, and making one is a map and a slice of fields): a schema is
// immutable and shared. A change of the columns makes a new one.
func (t *Table) ArrowSchema() *arrow.Schema {
	if made := t.schema.Load(); made != nil && sameSchemaColumns(made.cols, t.Columns) {
		return made.schema
	}
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: !c.NotNull}
	}
	schema := arrow.NewSchema(fields, nil)
	t.schema.Store(&madeSchema{cols: append([]Column(nil), t.Columns...), schema: schema})
	return schema
}

// ArrowSchemaOf is the Arrow schema of cols (columns the table had or
// has): the table's own when they make the same one.
func (t *Table) ArrowSchemaOf(cols []Column) *arrow.Schema {
	if sameSchemaColumns(cols, t.Columns) {
		return t.ArrowSchema()
	}
	return (&Table{Columns: cols}).ArrowSchema()
}

// sameSchemaColumns reports whether columns a and b make the same schema.
func sameSchemaColumns(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type || a[i].NotNull != b[i].NotNull {
			return false
		}
	}
	return true
}

// QualifiedName is schema.name.
func (t *Table) QualifiedName() string { return t.Schema + "." + t.Name }

// Lowercase folds an unquoted identifier.
func Lowercase(s string) string { return strings.ToLower(s) }

// NextOID is the next object identifier the catalog will hand out.
func (c *Catalog) NextOID() uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nextOID + 1
}

// ForceNextOID makes the next allocation return oid (restoring a stored
// catalog keeps its object identifiers).
func (c *Catalog) ForceNextOID(oid uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextOID = oid - 1
}

// SetNextOID moves the allocator to at least oid.
func (c *Catalog) SetNextOID(oid uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if oid-1 > c.nextOID {
		c.nextOID = oid - 1
	}
}

// RenameTable renames a table within its schema.
func (c *Catalog) RenameTable(t *Table, newName string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[t.Schema]
	if !ok {
		return sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", t.Schema)
	}
	if s.Tables[newName] != nil || s.Views[newName] != nil {
		return sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", newName)
	}
	delete(s.Tables, t.Name)
	t.Name = newName
	s.Tables[newName] = t
	return nil
}

// AttachTable puts back a table dropped earlier (ROLLBACK of its DROP),
// with the data snap (the caller keeps its own reference).
func (c *Catalog) AttachTable(t *Table, snap *Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[t.Schema]
	if !ok {
		return sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", t.Schema)
	}
	if s.Tables[t.Name] != nil || s.Views[t.Name] != nil {
		return sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", t.Name)
	}
	snap.Retain()
	t.setData(snap)
	s.Tables[t.Name] = t
	return nil
}

// AttachView puts back a view dropped earlier.
func (c *Catalog) AttachView(v *View) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[v.Schema]
	if !ok {
		return sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", v.Schema)
	}
	if s.Tables[v.Name] != nil || s.Views[v.Name] != nil {
		return sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", v.Name)
	}
	s.Views[v.Name] = v
	return nil
}

// CreateTempSchema adds a session's schema for temporary tables.
func (c *Catalog) CreateTempSchema(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.schemas[name]; ok {
		return
	}
	c.schemas[name] = &Schema{OID: c.allocOID(), Name: name, Tables: map[string]*Table{}, Views: map[string]*View{},
		Funcs: map[string][]*Function{}, Temp: true}
}

// TableDefinition is everything about a table but its data.
type TableDefinition struct {
	Columns     []Column
	Keys        []Key
	Checks      []Check
	ForeignKeys []ForeignKey
	Indexes     []Key
	Comment     string
	Cache       string
	MatView     string
	Unpopulated bool
}

// Definition copies the table's definition (the caller holds its lock).
func (t *Table) Definition() TableDefinition {
	return TableDefinition{Columns: append([]Column{}, t.Columns...), Keys: append([]Key{}, t.Keys...),
		Checks: append([]Check{}, t.Checks...), ForeignKeys: append([]ForeignKey{}, t.ForeignKeys...),
		Indexes: append([]Key{}, t.Indexes...), Comment: t.Comment, Cache: t.Cache, MatView: t.MatView, Unpopulated: t.Unpopulated}
}

// SetDefinition puts a definition back (the caller holds the lock).
func (t *Table) SetDefinition(d TableDefinition) {
	t.Columns, t.Keys, t.Checks, t.ForeignKeys, t.Indexes, t.Comment, t.Cache = d.Columns, d.Keys, d.Checks, d.ForeignKeys, d.Indexes, d.Comment, d.Cache
	t.MatView, t.Unpopulated = d.MatView, d.Unpopulated
}
