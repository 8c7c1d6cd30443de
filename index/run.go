package index

import "strings"

// run is a node's sorted entries held without a pointer per entry: the
// keys back to back in one string, where each key ends, and the
// locators. A tree of a million entries held as Entry values gives the
// garbage collector a million pointers to follow in every cycle, however
// seldom the tree changes; held as runs, it has three per node, and the
// arrays behind them hold no pointers for it to scan.
type run struct {
	keys string // the keys, back to back
	ends []int  // ends[i] is where key i ends in keys
	locs []Loc
}

// runOf copies sorted entries into a run.
func runOf(es []Entry) run {
	n := 0
	for _, e := range es {
		n += len(e.Key)
	}
	buf := make([]byte, 0, n)
	ends := make([]int, len(es))
	locs := make([]Loc, len(es))
	for i, e := range es {
		buf = append(buf, e.Key...)
		ends[i] = len(buf)
		locs[i] = e.Loc
	}
	return run{keys: frozen(buf), ends: ends, locs: locs}
}

func (r *run) len() int { return len(r.locs) }

// key is the key of entry i (a part of r's keys, not a copy).
func (r *run) key(i int) string {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.keys[start:r.ends[i]]
}

// at is entry i.
func (r *run) at(i int) Entry { return Entry{Key: r.key(i), Loc: r.locs[i]} }

// search is the index of the first entry not below e, and whether it is e.
func (r *run) search(e Entry) (int, bool) {
	lo, hi := 0, r.len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.compare(mid, e) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < r.len() && r.compare(lo, e) == 0
}

// compare is Compare(r.at(i), e).
func (r *run) compare(i int, e Entry) int {
	if c := strings.Compare(r.key(i), e.Key); c != 0 {
		return c
	}
	switch l := r.locs[i]; {
	case l < e.Loc:
		return -1
	case l > e.Loc:
		return 1
	}
	return 0
}

// countBelow is how many entries have keys below key.
func (r *run) countBelow(key string) int {
	lo, hi := 0, r.len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if strings.Compare(r.key(mid), key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
