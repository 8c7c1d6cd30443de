package exec

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// minSpillBytes is the least an operator holds before it spills: runs
// smaller than that cost more in files and merge fan-in than they save.
const minSpillBytes = 32 << 10

// canSpill reports whether the statement has a limit to spill by and a
// place to spill to.
func (e *Env) canSpill() bool {
	return e != nil && e.Spill != nil && e.Memory != nil && e.Memory.Limit() > 0
}

// spillShare is what one operator that can spill may hold before it
// does: the statement's limit split between its spilling operators, two
// shares each (a sort briefly needs twice what it buffers), and two more
// for the operators that cannot spill and the rows the statement returns.
func (e *Env) spillShare() int64 {
	spillers := max(e.Memory.spillers.Load(), 1)
	return max(e.Memory.Limit()/(2*spillers+2), minSpillBytes)
}

// shouldSpill reports whether an operator holding held bytes should write
// them out now: past its share, or while the database's statements
// together hold more than three quarters of the server's budget.
func (e *Env) shouldSpill(held int64) bool {
	if !e.canSpill() || held < minSpillBytes {
		return false
	}
	if held > e.spillShare() {
		return true
	}
	b := e.Memory.budget
	return b.Limit() > 0 && b.Held() > b.Limit()/4*3
}

// statementCrowded reports whether the statement holds more than half
// its limit: an operator whose estimate of its own state misses some
// of it (an ordered aggregate's buffered rows) stops growing then.
func (e *Env) statementCrowded() bool {
	return e.canSpill() && e.Memory.Held() > e.Memory.Limit()/2
}

// spillAccount opens the account of an operator that can spill, which
// then takes its part of the statement's limit (spillShare).
func (e *Env) spillAccount(name string) *MemoryAccount {
	if e == nil || e.Memory == nil {
		return nil
	}
	e.Memory.spillers.Add(1)
	acct := e.Memory.Account(name)
	acct.spiller = true
	return acct
}

// account opens the operator's memory account (nil without a statement
// allocator; nil accounts count nothing).
func (e *Env) account(name string) *MemoryAccount {
	if e == nil || e.Memory == nil {
		return nil
	}
	return e.Memory.Account(name)
}

// recordBytes estimates the memory rec's rows take. Batches are often
// slices of larger buffers (a table's stored segments): counting whole
// buffers would charge a batch of 8,192 rows for the segment it was cut
// from, so fixed-width and string columns count only their rows.
func recordBytes(rec arrow.Record) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += columnBytes(c)
	}
	return n
}

func columnBytes(a arrow.Array) int64 {
	rows := int64(a.Len())
	validity := (rows + 7) / 8
	switch x := a.(type) {
	case *array.String:
		if rows == 0 {
			return 0
		}
		return validity + 4*(rows+1) + int64(x.ValueOffset(a.Len()-1)+len(x.Value(a.Len()-1))-x.ValueOffset(0))
	case *array.Binary:
		if rows == 0 {
			return 0
		}
		return validity + 4*(rows+1) + int64(x.ValueOffset(a.Len()-1)+len(x.Value(a.Len()-1))-x.ValueOffset(0))
	}
	if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok && fw.BitWidth() >= 8 {
		return validity + rows*int64(fw.BitWidth()/8)
	}
	return dataBytes(a.Data())
}

// dataBytes is the size of the buffers under d (whole buffers: for the
// rarer nested types an overestimate is good enough).
func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}

// spillStats counts what one operator spilled, for EXPLAIN ANALYZE.
type spillStats struct {
	bytes atomic.Int64
	files atomic.Int64
}

func (s *spillStats) add(bytes int64) {
	s.bytes.Add(bytes)
	s.files.Add(1)
}

// SpilledBytes is what the operator wrote to spill files (all runs).
func (s *spillStats) SpilledBytes() int64 { return s.bytes.Load() }

// explainSpill is the EXPLAIN ANALYZE note of an operator that spilled.
func (s *spillStats) explainSpill() string {
	if s.files.Load() == 0 {
		return ""
	}
	return fmt.Sprintf(" spilled=%dkB files=%d", (s.bytes.Load()+1023)>>10, s.files.Load())
}
