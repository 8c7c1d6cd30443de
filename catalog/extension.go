package catalog

import (
	"sort"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Extension is an installed extension (CREATE EXTENSION). Weft has no
// loadable extensions: it accepts those whose functions it provides
// natively, and records them so that pg_extension and tools that check
// for them see them installed.
type Extension struct {
	OID     uint32 `json:"oid"`
	Name    string `json:"name"`
	Schema  string `json:"schema"`
	Version string `json:"version"`
}

// CreateExtension records an installed extension; with ifNotExists an
// installed one is left as it is (created reports which).
func (c *Catalog) CreateExtension(e Extension, ifNotExists bool) (created bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.extensions[e.Name]; ok {
		if ifNotExists {
			return false, nil
		}
		return false, sqlerr.New(sqlerr.DuplicateObject, "extension \"%s\" already exists", e.Name)
	}
	if e.OID == 0 {
		e.OID = c.allocOID()
	}
	if c.extensions == nil {
		c.extensions = map[string]Extension{}
	}
	c.extensions[e.Name] = e
	return true, nil
}

// DropExtension forgets an installed extension.
func (c *Catalog) DropExtension(name string, ifExists bool) (dropped bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.extensions[name]; !ok {
		if ifExists {
			return false, nil
		}
		return false, sqlerr.New(sqlerr.UndefinedObject, "extension \"%s\" does not exist", name)
	}
	delete(c.extensions, name)
	return true, nil
}

// Extensions lists the installed extensions by name.
func (c *Catalog) Extensions() []Extension {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Extension, 0, len(c.extensions))
	for _, e := range c.extensions {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
