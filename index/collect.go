package index

// KeyCollector gathers index entries a batch at a time, their keys in one
// growing buffer: a bulk load collects the keys of the batches it writes
// to disk as it goes, and builds its index from them at commit without
// reading the batches back.
type KeyCollector struct{ arena keyArena }

// Add appends an entry (key is copied).
func (c *KeyCollector) Add(key []byte, loc Loc) { c.arena.add(key, loc) }

// Len is the number of entries collected.
func (c *KeyCollector) Len() int { return len(c.arena.locs) }

// MoveLocs replaces every entry's locator l by move(l).
func (c *KeyCollector) MoveLocs(move func(Loc) Loc) {
	for i, l := range c.arena.locs {
		c.arena.locs[i] = move(l)
	}
}

// Entries are the collected entries, their keys sharing the collector's
// buffer (which must not be added to afterwards).
func (c *KeyCollector) Entries() []Entry { return c.arena.entries() }
