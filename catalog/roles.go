package catalog

import (
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Role is a login role. Verifier is the password in PostgreSQL's SCRAM
// form ("SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey"), never the
// password itself; "" means the role has no password.
type Role struct {
	Name     string
	Login    bool
	Verifier string
}

// CreateRole adds a role.
func (c *Catalog) CreateRole(r Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := strings.ToLower(r.Name)
	if c.roles == nil {
		c.roles = map[string]*Role{}
	}
	if _, ok := c.roles[name]; ok {
		return sqlerr.New(sqlerr.DuplicateObject, "role \"%s\" already exists", r.Name)
	}
	r.Name = name
	c.roles[name] = &r
	return nil
}

// AlterRole changes a role through f.
func (c *Catalog) AlterRole(name string, f func(*Role)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.roles[strings.ToLower(name)]
	if !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
	}
	next := *r
	f(&next)
	c.roles[next.Name] = &next
	return nil
}

// DropRole removes a role.
func (c *Catalog) DropRole(name string, ifExists bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	name = strings.ToLower(name)
	if _, ok := c.roles[name]; !ok {
		if ifExists {
			return nil
		}
		return sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
	}
	delete(c.roles, name)
	return nil
}

// Role looks a role up.
func (c *Catalog) Role(name string) (Role, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.roles[strings.ToLower(name)]
	if !ok {
		return Role{}, false
	}
	return *r, true
}
