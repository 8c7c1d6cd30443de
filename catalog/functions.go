package catalog

import (
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

// Function is a user-defined function in a schema.
type Function struct {
	OID    uint32
	Schema string
	UDF    *udf.Function
}

// sameArgs reports whether two functions have the same argument types
// (PostgreSQL identifies a function by name and argument types).
func sameArgs(a, b *udf.Function) bool {
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

// CreateFunction registers f; with replace, an existing function of the
// same signature is replaced (queries already planned keep the old one).
func (c *Catalog) CreateFunction(schema string, f *udf.Function, replace bool) (*Function, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[schema]
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", schema)
	}
	fn := &Function{OID: c.allocOID(), Schema: schema, UDF: f}
	list := s.Funcs[f.Name]
	for i, old := range list {
		if sameArgs(old.UDF, f) {
			if !replace {
				return nil, sqlerr.New(sqlerr.DuplicateFunction, "function \"%s\" already exists with same argument types", f.Signature())
			}
			fn.OID = old.OID
			next := append([]*Function{}, list...)
			next[i] = fn
			s.Funcs[f.Name] = next
			return fn, nil
		}
	}
	s.Funcs[f.Name] = append(append([]*Function{}, list...), fn)
	return fn, nil
}

// DropFunction removes the functions named name whose argument types match
// match (nil match: the only function of that name).
func (c *Catalog) DropFunction(schema, name string, match func(*udf.Function) bool, ifExists bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sname := range c.schemaOrder(schema) {
		s := c.schemas[sname]
		list := s.Funcs[name]
		for i, f := range list {
			if match == nil && len(list) > 1 {
				return sqlerr.New(sqlerr.AmbiguousFunction, "function name \"%s\" is not unique", name).
					WithHint("Specify the argument list to select the function unambiguously.")
			}
			if match == nil || match(f.UDF) {
				next := append(append([]*Function{}, list[:i]...), list[i+1:]...)
				if len(next) == 0 {
					delete(s.Funcs, name)
				} else {
					s.Funcs[name] = next
				}
				return nil
			}
		}
	}
	if ifExists {
		return nil
	}
	return sqlerr.New(sqlerr.UndefinedFunction, "function %s does not exist", name)
}

func (c *Catalog) schemaOrder(schema string) []string {
	if schema != "" {
		return []string{schema}
	}
	out := make([]string, 0, len(c.schemas))
	for n := range c.schemas {
		out = append(out, n)
	}
	return out
}

// LookupFunctions returns the candidates for a call of name: from schema
// when qualified, else from the first schema on the search path that has
// any.
func (c *Catalog) LookupFunctions(schema, name string, searchPath []string) []*Function {
	c.mu.RLock()
	defer c.mu.RUnlock()
	name = strings.ToLower(name)
	if schema != "" {
		if s, ok := c.schemas[schema]; ok {
			return s.Funcs[name]
		}
		return nil
	}
	for _, sp := range searchPath {
		if s, ok := c.schemas[sp]; ok && len(s.Funcs[name]) > 0 {
			return s.Funcs[name]
		}
	}
	return nil
}

// Functions lists every user-defined function.
func (c *Catalog) Functions() []*Function {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Function
	for _, s := range c.schemas {
		for _, list := range s.Funcs {
			out = append(out, list...)
		}
	}
	return out
}
