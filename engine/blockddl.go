package engine

import (
	"strings"
	"sync"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A transaction block's DDL changes the shared catalog at once (its own
// statements and ROLLBACK's undo records rely on that), but nothing a
// block does may reach the disk before its COMMIT: after a crash the
// database is as of the last committed transaction. So every open block
// keeps a blockChanges listing the objects it changed, registered before
// it changes them, and a checkpoint (DB.checkpoint, by any session) stores
// those objects as they were before the block: a table it dropped or
// altered with its old definition and rows, nothing of what it created.
// COMMIT unregisters the block in the same step that installs its rows
// (so a checkpoint sees all of the block or none of it) and then stores
// everything; ROLLBACK puts memory back first and unregisters afterwards,
// leaving the disk as it was.
//
// This keeps the catalog one shared structure (no per-block copy for
// every lookup to consult) and confines the rule to what the store writes.
// Because other sessions see the block's objects (PostgreSQL would hide
// them or make others wait on its locks), what they could do to them and
// lose is refused with 55P03 until the block ends: writing or altering a
// table it created, altered or dropped (notHeld), taking a name it freed
// (claimName). Appends to a table an open block changed skip the
// write-ahead log, whose replay after a crash meets the stored table.

// blockChanges is what one open block changed in the shared catalog.
type blockChanges struct {
	// tables it altered, renamed, commented, indexed or dropped, as they
	// were before (by OID)
	tables map[uint32]*tableBefore
	// views it dropped or replaced, as they were before (by OID)
	views map[uint32]*catalog.View
	// created are the tables, views, types and sequences it made
	created map[uint32]bool
	// creatingFrom, while the block adds an object to the catalog
	// (creating), is the first OID the object could have (0 otherwise):
	// it is hidden from the moment it exists, before created names it.
	creatingFrom uint32
	// other: the block made a catalog change kept nowhere above (GRANT,
	// REVOKE, OWNER TO, role membership), which COMMIT must store too
	other bool
}

// tableBefore is a table as it was before a block first changed it.
type tableBefore struct {
	table        *catalog.Table
	schema, name string
	def          catalog.TableDefinition
	// data are its rows when the block first rewrote or dropped it (or
	// first changed it at all, until then)
	data *catalog.Snapshot
	// rewritten: the block rewrote its rows (ALTER TABLE) or dropped it,
	// so data, not the table's current rows, is what the disk must keep;
	// otherwise rows other sessions commit meanwhile are stored as usual.
	rewritten bool
}

func newBlockChanges() *blockChanges {
	return &blockChanges{tables: map[uint32]*tableBefore{}, views: map[uint32]*catalog.View{}, created: map[uint32]bool{}}
}

// any reports whether the block changed the catalog at all.
func (c *blockChanges) any() bool {
	return len(c.tables) > 0 || len(c.views) > 0 || len(c.created) > 0 || c.other
}

func (c *blockChanges) release() {
	for _, b := range c.tables {
		b.data.Release()
	}
	c.tables = map[uint32]*tableBefore{}
}

// hides reports whether oid is an object the block created (or is
// creating right now).
func (c *blockChanges) hides(oid uint32) bool {
	return c.created[oid] || (c.creatingFrom != 0 && oid >= c.creatingFrom)
}

// openBlocks is the DB's registry of open transaction blocks.
type openBlocks struct {
	mu   sync.Mutex
	list []*blockChanges // in the order they began
}

func (o *openBlocks) add(c *blockChanges) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, have := range o.list {
		if have == c {
			return
		}
	}
	o.list = append(o.list, c)
}

func (o *openBlocks) remove(c *blockChanges) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, have := range o.list {
		if have == c {
			o.list = append(o.list[:i], o.list[i+1:]...)
			return
		}
	}
}

// hides reports whether an open block created (or is creating) oid.
func (o *openBlocks) hides(oid uint32) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.list {
		if c.hides(oid) {
			return true
		}
	}
	return false
}

// touches reports whether an open block created or changed table oid:
// appends to it must not go to the write-ahead log, whose replay after a
// crash would meet the table as the disk has it (without the block).
func (o *openBlocks) touches(oid uint32) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.list {
		if c.hides(oid) || c.tables[oid] != nil {
			return true
		}
	}
	return false
}

// unpopulatedBefore is whether materialized view oid was unpopulated
// before an open block other than self changed it (found false when none
// did): other sessions see that until the block commits.
func (o *openBlocks) unpopulatedBefore(self *blockChanges, oid uint32) (unpopulated, found bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.list {
		if b := c.tables[oid]; c != self && b != nil {
			return b.def.Unpopulated, true
		}
	}
	return false, false
}

// update runs f, which changes a block's record, under the registry's
// lock.
func (o *openBlocks) update(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f()
}

// beforeBlocks turns im, the catalog as memory has it, into what the disk
// may hold: every object an open block changed as it was before the
// block (the caller holds installMu shared, so no COMMIT is between
// installing its rows and unregistering).
func (o *openBlocks) beforeBlocks(im *tableImages) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.list) == 0 {
		return
	}
	hidden := func(oid uint32) bool {
		for _, c := range o.list {
			if c.hides(oid) {
				return true
			}
		}
		return false
	}
	// the oldest block's image of a table wins: a later block changed a
	// table that already held the earlier one's change
	before := func(oid uint32) *tableBefore {
		for _, c := range o.list {
			if b := c.tables[oid]; b != nil {
				return b
			}
		}
		return nil
	}
	seen := map[uint32]bool{}
	renamed := map[[2]string]string{} // schema, name now: the name before
	kept := im.tables[:0]
	for _, img := range im.tables {
		oid := img.table.OID
		seen[oid] = true
		if hidden(oid) {
			img.data.Release()
			continue
		}
		if b := before(oid); b != nil {
			if b.name != img.name {
				renamed[[2]string{img.schema, img.name}] = b.name
			}
			img.schema, img.name, img.def, img.before = b.schema, b.name, b.def, true
			if b.rewritten {
				img.data.Release()
				b.data.Retain()
				img.data = b.data
			}
		}
		kept = append(kept, img)
	}
	im.tables = kept
	for _, c := range o.list {
		for oid, b := range c.tables {
			if seen[oid] || hidden(oid) {
				continue
			}
			seen[oid] = true // dropped by the block: stored as it was
			b.data.Retain()
			im.tables = append(im.tables, tableImage{schema: b.schema, name: b.name, table: b.table, def: b.def, data: b.data, before: true})
		}
	}
	views := im.views[:0]
	seenViews := map[uint32]bool{}
	im.viewsBefore = map[uint32]bool{}
	for _, v := range im.views {
		seenViews[v.OID] = true
		if hidden(v.OID) {
			continue
		}
		if old := o.viewBefore(v.OID); old != nil {
			v = *old
			im.viewsBefore[v.OID] = true
		}
		views = append(views, v)
	}
	im.views = views
	for _, c := range o.list {
		for oid, v := range c.views {
			if !seenViews[oid] && !hidden(oid) {
				seenViews[oid] = true
				im.viewsBefore[oid] = true
				im.views = append(im.views, *v)
			}
		}
	}
	types := im.types[:0]
	for _, u := range im.types {
		if !hidden(u.OID) {
			types = append(types, u)
		}
	}
	im.types = types
	seqs := im.sequences[:0]
	for _, q := range im.sequences {
		if hidden(q.OID) {
			continue
		}
		// a serial column's sequence names its table as it is stored
		for now, old := range renamed {
			if now[0] == q.Schema && strings.HasPrefix(q.OwnedBy, now[1]+".") {
				q.OwnedBy = old + strings.TrimPrefix(q.OwnedBy, now[1])
				break
			}
		}
		seqs = append(seqs, q)
	}
	im.sequences = seqs
	im.dropNameClashes(func(schema, name string) bool {
		for _, c := range o.list {
			if c.heldName(schema, name) {
				return true
			}
		}
		return false
	})
}

// dropNameClashes leaves out of im any relation that has the name of one
// stored as it was before an open block (held reports those names) but is
// not that one: a relation another session made under the name in the
// moment before claimName undoes it. Two relations of one name would make
// the catalog impossible to open.
func (im *tableImages) dropNameClashes(held func(schema, name string) bool) {
	tables := im.tables[:0]
	for _, img := range im.tables {
		if !img.before && held(img.schema, img.name) {
			img.data.Release()
			continue
		}
		tables = append(tables, img)
	}
	im.tables = tables
	views := im.views[:0]
	for _, v := range im.views {
		if !im.viewsBefore[v.OID] && held(v.Schema, v.Name) {
			continue
		}
		views = append(views, v)
	}
	im.views = views
	seqs := im.sequences[:0]
	for _, q := range im.sequences {
		if !held(q.Schema, q.Name) {
			seqs = append(seqs, q)
		}
	}
	im.sequences = seqs
}

// viewBefore is the oldest block's image of view oid (the caller holds
// o.mu).
func (o *openBlocks) viewBefore(oid uint32) *catalog.View {
	for _, c := range o.list {
		if v := c.views[oid]; v != nil {
			return v
		}
	}
	return nil
}

// touchTable records, inside a block and before the block changes t's
// definition or drops it, how t is now; freezeData says the change
// rewrites or removes its rows, so the disk keeps them as they are now.
func (s *Session) touchTable(t *catalog.Table, freezeData bool) {
	if s.tx == nil {
		return
	}
	c := s.tx.changes
	t.Lock()
	defer t.Unlock()
	s.db.blocks.update(func() {
		if c.created[t.OID] {
			return // the disk has never had it
		}
		b := c.tables[t.OID]
		if b == nil {
			b = &tableBefore{table: t, schema: t.Schema, name: t.Name, def: t.Definition(), data: t.Snapshot(), rewritten: freezeData}
			c.tables[t.OID] = b
			return
		}
		if freezeData && !b.rewritten {
			// until now only its definition changed: the rows to keep are
			// the ones it has now (with other sessions' commits)
			b.data.Release()
			b.data = t.Snapshot()
			b.rewritten = true
		}
	})
}

// touchView records, inside a block, view v as it is before the block
// drops or replaces it.
func (s *Session) touchView(v *catalog.View) {
	if s.tx == nil {
		return
	}
	c := s.tx.changes
	s.db.blocks.update(func() {
		if !c.created[v.OID] && c.views[v.OID] == nil {
			cp := *v
			c.views[v.OID] = &cp
		}
	})
}

// noteCreated records, inside a block, an object the block made.
func (s *Session) noteCreated(oid uint32) {
	if s.tx == nil {
		return
	}
	c := s.tx.changes
	s.db.blocks.update(func() { c.created[oid] = true })
}

// creating runs create, which adds one object to the catalog and returns
// its OID (0 when it added none), with every object from the next OID on
// hidden from the store meanwhile when the session is in a block: the
// object is the block's from the moment it exists.
func (s *Session) creating(create func() (uint32, error)) error {
	if s.tx == nil {
		_, err := create()
		return err
	}
	c, from := s.tx.changes, s.db.cat.NextOID()
	s.db.blocks.update(func() { c.creatingFrom = from })
	var oid uint32
	defer s.db.blocks.update(func() {
		if oid != 0 {
			c.created[oid] = true
		}
		c.creatingFrom = 0
	})
	oid, err := create()
	if err != nil {
		oid = 0
	}
	return err
}

// createTableIn creates a table (nil when ifNotExists found one) as
// creating does.
func (s *Session) createTableIn(schema, name string, cols []catalog.Column, ifNotExists bool) (*catalog.Table, error) {
	var t *catalog.Table
	err := s.creating(func() (uint32, error) {
		var err error
		if t, err = s.db.cat.CreateTable(schema, name, cols, ifNotExists); err != nil || t == nil {
			return 0, err
		}
		return t.OID, nil
	})
	return t, err
}

// reservedBy reports whether an open block other than self had a table
// or view called schema.name before it dropped or renamed it: the disk
// keeps that object until the block ends, so no other may take its name
// meanwhile (PostgreSQL would make the other wait for the block).
func (o *openBlocks) reservedBy(schema, name string, self *blockChanges) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.list {
		if c != self && c.heldName(schema, name) {
			return true
		}
	}
	return false
}

// heldName reports whether the block changed a table or view that had
// schema.name before it (the name stays its own until it ends).
func (c *blockChanges) heldName(schema, name string) bool {
	for _, b := range c.tables {
		if b.schema == schema && b.name == name {
			return true
		}
	}
	for _, v := range c.views {
		if v.Schema == schema && v.Name == name {
			return true
		}
	}
	return false
}

// claimName checks, after the session made a relation called
// schema.name, that no other open block holds the name (see reservedBy);
// the caller undoes what it made when it does.
func (s *Session) claimName(schema, name string) error {
	var self *blockChanges
	if s.tx != nil {
		self = s.tx.changes
	}
	if !s.db.blocks.reservedBy(schema, name, self) {
		return nil
	}
	return sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on relation \"%s\"", name).
		WithDetail("A transaction block that dropped or renamed a relation of that name is still open.").
		WithHint("Retry once that transaction has ended.")
}

// heldBy reports whether an open block other than self created table
// oid (or is creating it), or changed it: any change when ddl is set (a
// definition change of another session would be stored under the
// block's image of the table and lost with it), else one that rewrote or
// dropped its rows (rows written meanwhile would not be stored until the
// block commits, and ROLLBACK puts the old rows back).
func (o *openBlocks) heldBy(oid uint32, self *blockChanges, ddl bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.list {
		if c == self {
			continue
		}
		if c.hides(oid) {
			return true
		}
		if b := c.tables[oid]; b != nil && (ddl || b.rewritten) {
			return true
		}
	}
	return false
}

// notHeld refuses to change table t (its rows, or with ddl its
// definition) while another open block holds it (heldBy): PostgreSQL
// would wait for that block to end, Weft does not wait. A writer checks
// while it holds t's lock, which a block holds when it registers a
// change, so the two cannot cross.
func (s *Session) notHeld(t *catalog.Table, ddl bool) error {
	var self *blockChanges
	if s.tx != nil {
		self = s.tx.changes
	}
	if !s.db.blocks.heldBy(t.OID, self, ddl) {
		return nil
	}
	return sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on relation \"%s\"", t.Name).
		WithDetail("A transaction block that created or altered it is still open.").
		WithHint("Retry once that transaction has ended.")
}

// notHeldView refuses to drop or replace view v while another open block
// created, dropped or replaced it (as notHeld does for tables).
func (s *Session) notHeldView(v *catalog.View) error {
	var self *blockChanges
	if s.tx != nil {
		self = s.tx.changes
	}
	held := false
	s.db.blocks.update(func() {
		for _, c := range s.db.blocks.list {
			if c != self && (c.hides(v.OID) || c.views[v.OID] != nil) {
				held = true
			}
		}
	})
	if !held {
		return nil
	}
	return sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on relation \"%s\"", v.Name).
		WithDetail("A transaction block that created or replaced it is still open.").
		WithHint("Retry once that transaction has ended.")
}
