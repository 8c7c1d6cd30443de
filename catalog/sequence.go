package catalog

import (
	"sort"
	"sync"

	"github.com/weftdb/weft/sql/sqlerr"
)

// SequenceLogAhead is how many values past the last one handed out a
// sequence records as its restart point: nextval makes the catalog
// durable only when it passes that point, so a restart may skip values
// (as in PostgreSQL) but never hands one out twice.
const SequenceLogAhead = 32

// Sequence is a number generator (CREATE SEQUENCE, serial and identity
// columns). Its fields other than the state are its definition.
type Sequence struct {
	OID          uint32
	Schema, Name string
	Start        int64
	Increment    int64
	Min, Max     int64
	Cycle        bool `json:",omitempty"`
	// OwnedBy is "table.column" for the sequence of a serial or identity
	// column (dropped with the table).
	OwnedBy string `json:",omitempty"`
	// Logged is the restart point stored with the catalog.
	Logged int64

	mu     sync.Mutex
	last   int64
	called bool
}

// Next advances the sequence. mustLog says the restart point moved and
// must be stored before the value is used.
func (q *Sequence) Next() (v int64, mustLog bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	v = q.last // before the first call (or after setval(…, false)): the value itself
	if q.called {
		v = q.last + q.Increment
		if q.Increment > 0 && (v > q.Max || v < q.last) || q.Increment < 0 && (v < q.Min || v > q.last) {
			if !q.Cycle {
				bound := map[bool]string{true: "maximum", false: "minimum"}[q.Increment > 0]
				limit := map[bool]int64{true: q.Max, false: q.Min}[q.Increment > 0]
				return 0, false, sqlerr.New(sqlerr.SequenceGeneratorLimitExceeded, "nextval: reached %s value of sequence \"%s\" (%d)", bound, q.Name, limit)
			}
			v = map[bool]int64{true: q.Min, false: q.Max}[q.Increment > 0]
		}
	}
	q.last, q.called = v, true
	if q.Increment > 0 && v >= q.Logged || q.Increment < 0 && v <= q.Logged {
		q.Logged = v + SequenceLogAhead*q.Increment
		mustLog = true
	}
	return v, mustLog, nil
}

// Set is setval: the next value follows v (or is v when !called).
func (q *Sequence) Set(v int64, called bool) (mustLog bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if v < q.Min || v > q.Max {
		return false, sqlerr.New(sqlerr.NumericOutOfRange, "setval: value %d is out of bounds for sequence \"%s\" (%d..%d)", v, q.Name, q.Min, q.Max)
	}
	q.last, q.called = v, called
	q.Logged = v + SequenceLogAhead*q.Increment
	return true, nil
}

// State reports the last value and whether nextval has been called.
func (q *Sequence) State() (last int64, called bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last, q.called
}

// Restore sets the state read back from the data directory: the next
// value follows the stored restart point.
func (q *Sequence) Restore() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last, q.called = q.Logged, true
}

// CreateSequence adds a sequence (keepOID for one read back from disk).
func (c *Catalog) CreateSequence(q *Sequence, keepOID, ifNotExists bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.schemas[q.Schema]
	if !ok {
		return false, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", q.Schema)
	}
	if s.Tables[q.Name] != nil || s.Views[q.Name] != nil || s.Sequences[q.Name] != nil {
		if ifNotExists {
			return false, nil
		}
		return false, sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", q.Name)
	}
	if keepOID {
		c.nextOID = max(c.nextOID, q.OID)
	} else {
		q.OID = c.allocOID()
		q.last = q.Start
	}
	if s.Sequences == nil {
		s.Sequences = map[string]*Sequence{}
	}
	s.Sequences[q.Name] = q
	return true, nil
}

// LookupSequence finds a sequence by name along the search path.
func (c *Catalog) LookupSequence(schema, name string, searchPath []string) (*Sequence, bool) {
	var q *Sequence
	found := c.firstInPath(schema, searchPath, func(s *Schema) bool {
		q = s.Sequences[name]
		return q != nil
	})
	return q, found
}

// SequenceByOID finds a sequence by OID.
func (c *Catalog) SequenceByOID(oid uint32) (*Sequence, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.schemas {
		for _, q := range s.Sequences {
			if q.OID == oid {
				return q, true
			}
		}
	}
	return nil, false
}

// Sequences lists every sequence by OID.
func (c *Catalog) Sequences() []*Sequence {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Sequence
	for _, s := range c.schemas {
		for _, q := range s.Sequences {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// DropSequence removes a sequence.
func (c *Catalog) DropSequence(schema, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[schema]; ok {
		delete(s.Sequences, name)
	}
}

// StoredSequence is a sequence as the data directory keeps it.
type StoredSequence struct {
	OID          uint32
	Schema, Name string
	Start        int64
	Increment    int64
	Min, Max     int64
	Cycle        bool   `json:",omitempty"`
	OwnedBy      string `json:",omitempty"`
	Logged       int64
	// Called: values were handed out (or setval ran); else the next value
	// is Start.
	Called bool `json:",omitempty"`
}

// Stored is the sequence's definition and restart point.
func (q *Sequence) Stored() StoredSequence {
	q.mu.Lock()
	defer q.mu.Unlock()
	return StoredSequence{OID: q.OID, Schema: q.Schema, Name: q.Name, Start: q.Start, Increment: q.Increment,
		Min: q.Min, Max: q.Max, Cycle: q.Cycle, OwnedBy: q.OwnedBy, Logged: q.Logged, Called: q.called || q.last != q.Start}
}

// FromStored rebuilds a sequence read back from the data directory; its
// next value follows the stored restart point.
func FromStored(st StoredSequence) *Sequence {
	q := &Sequence{OID: st.OID, Schema: st.Schema, Name: st.Name, Start: st.Start, Increment: st.Increment,
		Min: st.Min, Max: st.Max, Cycle: st.Cycle, OwnedBy: st.OwnedBy, Logged: st.Logged}
	q.last = st.Start
	if st.Called {
		q.Restore()
	}
	return q
}

// Redefine takes the increment, bounds, start and cycling of def, and
// with restart makes *restart the next value.
func (q *Sequence) Redefine(def *Sequence, cycle bool, restart *int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Increment, q.Min, q.Max, q.Start, q.Cycle = def.Increment, def.Min, def.Max, def.Start, cycle
	if restart != nil {
		if *restart < q.Min || *restart > q.Max {
			return sqlerr.New(sqlerr.InvalidParameter, "RESTART value (%d) cannot be outside MINVALUE (%d) and MAXVALUE (%d)", *restart, q.Min, q.Max)
		}
		q.last, q.called = *restart, false
		q.Logged = *restart
	}
	return nil
}
