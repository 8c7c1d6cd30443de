package physical

import (
	"encoding/binary"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// SchemaCache hands out the Arrow schema of a list of columns made once:
// a schema is immutable and may be shared by any number of operators and
// records, and making one (its fields and its name index) was several
// per cent of a key lookup's or one-row UPDATE's CPU, every operator of
// every statement making its own. A session keeps one for its builders.
type SchemaCache struct {
	mu      sync.Mutex
	schemas map[string]*arrow.Schema
	key     []byte // scratch for the key of a lookup
}

// maxCachedSchemas bounds a cache: past it, a new schema takes the place
// of an arbitrary one.
const maxCachedSchemas = 512

// Of is the schema of cols (all fields nullable, as ArrowSchema makes
// them); a nil cache makes a new one.
func (c *SchemaCache) Of(cols []logical.Column) *arrow.Schema {
	if c == nil {
		return ArrowSchema(cols)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key = c.key[:0]
	for _, col := range cols {
		c.key = appendSchemaKey(c.key, col.Name, col.T)
	}
	// (a map index by string(bytes) does not copy the bytes)
	if s, ok := c.schemas[string(c.key)]; ok {
		return s
	}
	s := ArrowSchema(cols)
	if c.schemas == nil {
		c.schemas = map[string]*arrow.Schema{}
	}
	for k := range c.schemas {
		if len(c.schemas) < maxCachedSchemas {
			break
		}
		delete(c.schemas, k)
	}
	c.schemas[string(c.key)] = s
	return s
}

// appendSchemaKey appends what decides a field's name and Arrow type: the
// name, and every part of the type its Arrow type can depend on (more
// than it does depend on is harmless: a few more entries).
func appendSchemaKey(key []byte, name string, t types.T) []byte {
	key = binary.AppendUvarint(key, uint64(len(name)))
	key = append(key, name...)
	key = binary.AppendUvarint(key, uint64(t.Kind))
	key = binary.AppendUvarint(key, uint64(t.Elem))
	key = binary.AppendVarint(key, int64(t.Prec))
	key = binary.AppendVarint(key, int64(t.Scale))
	key = binary.AppendVarint(key, int64(t.Len))
	return key
}

// schema is the schema of cols through the builder's cache, if it has one.
func (b *Builder) schema(cols []logical.Column) *arrow.Schema {
	return b.Schemas.Of(cols)
}
