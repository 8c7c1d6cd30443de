package catalog

// Key is a PRIMARY KEY or UNIQUE constraint: no two rows may have equal
// values in Columns (rows with a NULL in them are exempt, as in SQL).
type Key struct {
	Name    string
	Columns []int // column ordinals
	Primary bool  `json:",omitempty"`
	// OID is the key's index in pg_class/pg_index, ConOID its row in
	// pg_constraint.
	OID, ConOID uint32
	// IndexOnly: made by CREATE UNIQUE INDEX, so a unique index without a
	// constraint row.
	IndexOnly bool `json:",omitempty"`
	// NonUnique marks an entry of Table.Indexes.
	NonUnique bool `json:",omitempty"`
}

// Check is a CHECK constraint: Expr (SQL over the table's columns) must
// not be false for any row.
type Check struct {
	Name   string
	Expr   string
	ConOID uint32
}

// ForeignKey is a FOREIGN KEY constraint: each row's non-NULL Columns
// values must be a key of the table RefOID (its RefColumns, a unique key
// there). OnDelete is PostgreSQL's action letter: a (no action),
// r (restrict), c (cascade) or n (set null); OnUpdate is a or r.
type ForeignKey struct {
	Name               string
	Columns            []int
	RefOID             uint32
	RefColumns         []int
	OnDelete, OnUpdate string
	ConOID             uint32
}

// Each calls f with every key in the set.
func (k *KeySet) Each(f func(key string)) {
	for l := k; l != nil; l = l.below {
		for key := range l.keys {
			f(key)
		}
	}
}

// KeySet holds the encoded key values of one unique key in a snapshot.
// It is immutable once attached to a snapshot; a snapshot made by
// appending shares its predecessor's set and adds a layer, and layers
// merge when the top one grows to the size of the one below, so a lookup
// walks O(log n) layers and a long run of single-row inserts copies each
// key O(log n) times.
type KeySet struct {
	below *KeySet
	keys  map[string]struct{}
	size  int // keys in this layer and below
}

// NewKeySet is a one-layer set.
func NewKeySet(keys map[string]struct{}) *KeySet {
	return &KeySet{keys: keys, size: len(keys)}
}

// Has reports whether key is in the set.
func (k *KeySet) Has(key string) bool {
	for l := k; l != nil; l = l.below {
		if _, ok := l.keys[key]; ok {
			return true
		}
	}
	return false
}

// Len is the number of keys.
func (k *KeySet) Len() int {
	if k == nil {
		return 0
	}
	return k.size
}

// With is the set plus add (which must not hold keys already in it); k
// itself is unchanged.
func (k *KeySet) With(add map[string]struct{}) *KeySet {
	top := &KeySet{below: k, keys: add, size: k.Len() + len(add)}
	// merge while the top layer is at least as big as the one below it
	for top.below != nil && len(top.keys) >= len(top.below.keys) {
		merged := make(map[string]struct{}, len(top.keys)+len(top.below.keys))
		for key := range top.below.keys {
			merged[key] = struct{}{}
		}
		for key := range top.keys {
			merged[key] = struct{}{}
		}
		top = &KeySet{below: top.below.below, keys: merged, size: top.size}
	}
	return top
}

// KeySet returns the snapshot's set for the named key, if built.
func (s *Snapshot) KeySet(name string) (*KeySet, bool) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	ks, ok := s.keySets[name]
	return ks, ok
}

// SetKeySet attaches the set of the named key's values to the snapshot.
func (s *Snapshot) SetKeySet(name string, ks *KeySet) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.keySets == nil {
		s.keySets = map[string]*KeySet{}
	}
	s.keySets[name] = ks
}
