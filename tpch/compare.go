package tpch

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Answer is a query's result as text: column names and rows of values
// (nil for NULL), as PostgreSQL's text output would print them.
type Answer struct {
	Columns []string
	Rows    [][]*string
}

// CompareOptions says how loosely two answers may match.
type CompareOptions struct {
	// RelTol is the relative difference allowed between two numbers
	// (1e-9 when zero): engines print numeric results at different scales
	// and sum floating point in different orders.
	RelTol float64
	// TrimBlanks ignores trailing blanks in text, for an engine without
	// char(n) padding (DuckDB).
	TrimBlanks bool
}

// maxDiffLines bounds the rows a mismatch report lists.
const maxDiffLines = 6

// Compare reports how got differs from want for query q, or nil when they
// match: the same row count, values equal (numbers within RelTol), rows in
// the same order where q's ORDER BY fixes it and as multisets among ties or
// without ORDER BY. Among the last tied rows of a LIMIT query only the sort
// keys are compared, since either engine may keep any of them.
func Compare(q Query, want, got Answer, opt CompareOptions) error {
	if opt.RelTol == 0 {
		opt.RelTol = 1e-9
	}
	c := comparer{opt: opt}
	if len(want.Columns) != len(got.Columns) {
		return fmt.Errorf("%d columns %v, want %d %v", len(got.Columns), got.Columns, len(want.Columns), want.Columns)
	}
	if len(want.Rows) != len(got.Rows) {
		return fmt.Errorf("%d rows, want %d\n%s", len(got.Rows), len(want.Rows), c.multisetDiff(want.Rows, got.Rows))
	}
	keys, ok := sortKeyColumns(q.OrderBy, want.Columns)
	if !ok {
		return c.sameMultiset(want.Rows, got.Rows)
	}
	var diffs []string
	for i := range want.Rows {
		if !c.equalOn(keys, want.Rows[i], got.Rows[i]) {
			diffs = append(diffs, fmt.Sprintf("row %d: want %s\n        got  %s", i+1, showRow(want.Rows[i]), showRow(got.Rows[i])))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("rows out of order (on %v):\n%s", q.OrderBy, joinFirst(diffs))
	}
	for start := 0; start < len(want.Rows); {
		end := start + 1
		for end < len(want.Rows) && c.equalOn(keys, want.Rows[start], want.Rows[end]) {
			end++
		}
		lastTies := q.Limited && end == len(want.Rows) && end-start > 1
		if !lastTies {
			if err := c.sameMultiset(want.Rows[start:end], got.Rows[start:end]); err != nil {
				return fmt.Errorf("rows %d-%d: %w", start+1, end, err)
			}
		}
		start = end
	}
	return nil
}

// sortKeyColumns maps ORDER BY names to column positions; false when there
// is no ORDER BY or a name is not an output column.
func sortKeyColumns(orderBy, columns []string) ([]int, bool) {
	if len(orderBy) == 0 {
		return nil, false
	}
	var keys []int
	for _, name := range orderBy {
		i := indexOf(columns, name)
		if i < 0 {
			return nil, false
		}
		keys = append(keys, i)
	}
	return keys, true
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

type comparer struct{ opt CompareOptions }

// compareValues orders two values: NULL first, numbers by value (equal
// within the tolerance), anything else as text.
func (c comparer) compareValues(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	x, y := *a, *b
	if c.opt.TrimBlanks {
		x, y = strings.TrimRight(x, " "), strings.TrimRight(y, " ")
	}
	if x == y {
		return 0
	}
	fx, errx := strconv.ParseFloat(x, 64)
	fy, erry := strconv.ParseFloat(y, 64)
	if errx == nil && erry == nil {
		if math.Abs(fx-fy) <= c.opt.RelTol*math.Max(math.Abs(fx), math.Abs(fy)) {
			return 0
		}
		if fx < fy {
			return -1
		}
		return 1
	}
	return strings.Compare(x, y)
}

func (c comparer) equalOn(cols []int, a, b []*string) bool {
	for _, i := range cols {
		if c.compareValues(a[i], b[i]) != 0 {
			return false
		}
	}
	return true
}

func (c comparer) compareRows(a, b []*string) int {
	for i := range a {
		if r := c.compareValues(a[i], b[i]); r != 0 {
			return r
		}
	}
	return 0
}

func (c comparer) sorted(rows [][]*string) [][]*string {
	s := append([][]*string(nil), rows...)
	sort.SliceStable(s, func(i, j int) bool { return c.compareRows(s[i], s[j]) < 0 })
	return s
}

// sameMultiset compares two equally long row sets ignoring order.
func (c comparer) sameMultiset(want, got [][]*string) error {
	w, g := c.sorted(want), c.sorted(got)
	for i := range w {
		if c.compareRows(w[i], g[i]) != 0 {
			return fmt.Errorf("different rows:\n%s", c.multisetDiff(want, got))
		}
	}
	return nil
}

// multisetDiff lists the first rows only one side has.
func (c comparer) multisetDiff(want, got [][]*string) string {
	w, g := c.sorted(want), c.sorted(got)
	var lines []string
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case j == len(g) || (i < len(w) && c.compareRows(w[i], g[j]) < 0):
			lines = append(lines, "  missing "+showRow(w[i]))
			i++
		case i == len(w) || c.compareRows(w[i], g[j]) > 0:
			lines = append(lines, "  extra   "+showRow(g[j]))
			j++
		default:
			i++
			j++
		}
	}
	return joinFirst(lines)
}

func joinFirst(lines []string) string {
	if len(lines) > maxDiffLines {
		lines = append(lines[:maxDiffLines:maxDiffLines], fmt.Sprintf("  … %d more", len(lines)-maxDiffLines))
	}
	return strings.Join(lines, "\n")
}

func showRow(r []*string) string {
	parts := make([]string, len(r))
	for i, v := range r {
		if v == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = strconv.Quote(*v)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
