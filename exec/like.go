package exec

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// A LIKE pattern is compiled once into segments split at '%'; a segment is
// a run of literal bytes and '_' (one character each). Matching anchors the
// first segment at the start and the last at the end and finds the middle
// ones leftmost-first with bytes.Index, which is optimal: a segment spans a
// fixed number of characters, so its earliest start gives its earliest end.
// Literals match as bytes; valid UTF-8 never matches inside a character.

// likeToken is a literal, or (lit == nil) `any` characters of '_'.
type likeToken struct {
	lit []byte
	any int
}

type likeSegment []likeToken

// likeShape names the patterns that need no general matching.
type likeShape uint8

const (
	likeGeneral  likeShape = iota
	likeExact              // abc
	likePrefix             // abc%
	likeSuffix             // %abc
	likeContains           // %abc%
	likeAny                // %
	likeNone               // a pattern ending in a lone escape character
)

// likeMatcher is a compiled LIKE or ILIKE pattern.
type likeMatcher struct {
	shape likeShape
	lit   []byte        // the literal of the simple shapes
	segs  []likeSegment // at least one; a '%' between each two
	ci    bool          // ILIKE: the subject is lower-cased before matching
	lower []byte        // reused buffer for the lower-cased subject
	// broken is set for a pattern ending in a lone escape character: it
	// matches nothing, and values that broken matches raise an error.
	broken *likeMatcher
}

// errLikeTrailingEscape is PostgreSQL's error for a pattern ending in the
// escape character.
func errLikeTrailingEscape() error {
	return sqlerr.New("22025", "LIKE pattern must not end with escape character")
}

// compileTrailingEscape compiles a pattern that ends in a lone escape
// character. PostgreSQL raises its error only when matching gets there
// with text left over: when what comes before matches the start of the
// value and a character remains; when what comes before ends in '%' and
// k '_', k characters are enough.
func compileTrailingEscape(before []byte, ci bool) (*likeMatcher, error) {
	head, err := compileLike(before, false)
	if err != nil {
		return nil, err
	}
	probe := append([]byte{}, before...)
	tail := head.segs[len(head.segs)-1]
	if len(head.segs) > 1 && len(tail) == 1 && tail[0].lit == nil {
		probe = append(probe, '%')
	} else {
		probe = append(probe, '_', '%')
	}
	broken, err := compileLike(probe, false)
	if err != nil {
		return nil, err
	}
	broken.ci = ci
	return &likeMatcher{shape: likeNone, broken: broken, ci: ci}, nil
}

// matchChecked is match, with the error of a pattern that ends in a lone
// escape character for the values that reach it.
func (m *likeMatcher) matchChecked(s []byte) (bool, error) {
	if m.broken != nil {
		if m.broken.match(s) {
			return false, errLikeTrailingEscape()
		}
		return false, nil
	}
	return m.match(s), nil
}

// compileLike compiles pattern (escape character backslash, as
// like_escape leaves every pattern). ILIKE lower-cases pattern and subject,
// as PostgreSQL does for multi-byte encodings.
func compileLike(pattern []byte, ci bool) (*likeMatcher, error) {
	if ci {
		pattern = bytes.ToLower(pattern)
	}
	m := &likeMatcher{ci: ci}
	var seg likeSegment
	var lit []byte
	flushLit := func() {
		if lit != nil {
			seg = append(seg, likeToken{lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch c {
		case '%':
			flushLit()
			m.segs = append(m.segs, seg)
			seg = nil
			i++
		case '_':
			flushLit()
			if n := len(seg); n > 0 && seg[n-1].lit == nil {
				seg[n-1].any++
			} else {
				seg = append(seg, likeToken{any: 1})
			}
			i++
		case '\\':
			if i+1 >= len(pattern) {
				return compileTrailingEscape(pattern[:i], ci)
			}
			_, size := utf8.DecodeRune(pattern[i+1:])
			lit = append(lit, pattern[i+1:i+1+size]...)
			i += 1 + size
		default:
			lit = append(lit, c)
			i++
		}
	}
	flushLit()
	m.segs = append(m.segs, seg)
	m.shape, m.lit = classifyLike(m.segs)
	return m, nil
}

// classifyLike recognises exact, prefix, suffix, contains and match-all
// patterns: segments of one literal (or none) around at most two '%'.
func classifyLike(segs []likeSegment) (likeShape, []byte) {
	litOnly := func(s likeSegment) ([]byte, bool) {
		switch {
		case len(s) == 0:
			return nil, true
		case len(s) == 1 && s[0].lit != nil:
			return s[0].lit, true
		}
		return nil, false
	}
	lits := make([][]byte, len(segs))
	for i, s := range segs {
		l, ok := litOnly(s)
		if !ok {
			return likeGeneral, nil
		}
		lits[i] = l
	}
	empty := func(i int) bool { return len(lits[i]) == 0 }
	switch {
	case len(segs) == 1:
		return likeExact, lits[0]
	case len(segs) == 2 && empty(0) && empty(1):
		return likeAny, nil
	case len(segs) == 2 && empty(1):
		return likePrefix, lits[0]
	case len(segs) == 2 && empty(0):
		return likeSuffix, lits[1]
	case len(segs) == 3 && empty(0) && empty(2):
		return likeContains, lits[1]
	}
	allEmpty := true
	for i := range segs {
		allEmpty = allEmpty && empty(i)
	}
	if allEmpty {
		return likeAny, nil
	}
	return likeGeneral, nil
}

// match reports whether s matches the pattern.
func (m *likeMatcher) match(s []byte) bool {
	if m.ci {
		m.lower = appendLower(m.lower[:0], s)
		s = m.lower
	}
	switch m.shape {
	case likeExact:
		return bytes.Equal(s, m.lit)
	case likePrefix:
		return bytes.HasPrefix(s, m.lit)
	case likeSuffix:
		return bytes.HasSuffix(s, m.lit)
	case likeContains:
		return bytes.Contains(s, m.lit)
	case likeAny:
		return true
	case likeNone:
		return false
	}
	return m.matchGeneral(s)
}

func (m *likeMatcher) matchGeneral(s []byte) bool {
	first, last := m.segs[0], m.segs[len(m.segs)-1]
	pos := first.matchAt(s, 0)
	if pos < 0 {
		return false
	}
	if len(m.segs) == 1 {
		return pos == len(s)
	}
	for _, seg := range m.segs[1 : len(m.segs)-1] {
		if pos = seg.find(s, pos); pos < 0 {
			return false
		}
	}
	start := last.matchBackFrom(s, len(s))
	return start >= pos
}

// matchAt returns where the segment ends when it matches s at pos, or -1.
func (seg likeSegment) matchAt(s []byte, pos int) int {
	for _, t := range seg {
		if t.lit != nil {
			if !bytes.HasPrefix(s[pos:], t.lit) {
				return -1
			}
			pos += len(t.lit)
			continue
		}
		for k := 0; k < t.any; k++ {
			if pos >= len(s) {
				return -1
			}
			pos += charLen(s[pos:])
		}
	}
	return pos
}

// matchBackFrom returns where the segment starts when it ends at end of s,
// or -1.
func (seg likeSegment) matchBackFrom(s []byte, end int) int {
	for i := len(seg) - 1; i >= 0; i-- {
		t := seg[i]
		if t.lit != nil {
			if !bytes.HasSuffix(s[:end], t.lit) {
				return -1
			}
			end -= len(t.lit)
			continue
		}
		for k := 0; k < t.any; k++ {
			if end <= 0 {
				return -1
			}
			_, size := utf8.DecodeLastRune(s[:end])
			end -= size
		}
	}
	return end
}

// find returns the end of the leftmost match of the segment at or after
// pos, or -1.
func (seg likeSegment) find(s []byte, pos int) int {
	if len(seg) == 0 {
		return pos
	}
	lead := seg[0].lit
	for pos <= len(s) {
		if lead != nil {
			i := bytes.Index(s[pos:], lead)
			if i < 0 {
				return -1
			}
			pos += i
		}
		if end := seg.matchAt(s, pos); end >= 0 {
			return end
		}
		if pos >= len(s) {
			return -1
		}
		pos += charLen(s[pos:])
	}
	return -1
}

// charLen is the length of the character s starts with (1 for a byte that
// starts none).
func charLen(s []byte) int {
	if s[0] < utf8.RuneSelf {
		return 1
	}
	_, size := utf8.DecodeRune(s)
	return size
}

// appendLower appends s lower-cased: ASCII byte by byte, anything else
// through Unicode's simple lower-case mapping.
func appendLower(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return appendMapped(dst, s[i:], unicode.ToLower)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// LikeKernel implements [NOT] LIKE / ILIKE over text arrays in place: the
// pattern is compiled again only when it changes from one row to the next
// (a constant pattern compiles once per batch).
func LikeKernel(ci, negate bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		subject, ok1 := args[0].(*array.String)
		pattern, ok2 := args[1].(*array.String)
		if !ok1 || !ok2 {
			return likeRows(ci, negate)(ec, args, n)
		}
		subjects, patterns := viewText(subject), viewText(pattern)
		if p, ok := constantText(pattern); ok && !ci {
			if out, done, err := likeConstPattern(ec, args, subjects, []byte(p), negate, n); done || err != nil {
				return out, err
			}
		}
		var m *likeMatcher
		var compiled []byte
		var err error
		out := boolResult(ec.Mem, n, args, func(i int) bool {
			if err != nil || subject.IsNull(i) || pattern.IsNull(i) {
				return false
			}
			p := patterns.at(i)
			if m == nil || !bytes.Equal(p, compiled) {
				if m, err = compileLike(p, ci); err != nil {
					return false
				}
				compiled = p
			}
			matched, merr := m.matchChecked(subjects.at(i))
			if merr != nil {
				err = merr
			}
			return matched != negate
		})
		if err != nil {
			out.Release()
			return nil, err
		}
		return out, nil
	}
}

// likeConstPattern is LIKE with one pattern for every row, matched over
// the subjects' offsets and data buffers: a '%abc%' pattern searches the
// whole data buffer at once and maps what it finds to rows, the other
// simple shapes compare each value's bytes in place. done is false for a
// pattern that needs the general matcher.
func likeConstPattern(ec *EvalContext, args []arrow.Array, v textView, pattern []byte, negate bool, n int) (arrow.Array, bool, error) {
	m, err := compileLike(pattern, false)
	if err != nil {
		return nil, true, err
	}
	if m.broken != nil || m.shape == likeGeneral {
		return nil, false, nil
	}
	validity, nulls := combineValidity(ec.Mem, n, args...)
	buf := memory.NewResizableBuffer(ec.Mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := buf.Bytes()
	clear(bits)
	offs := v.offsets[:n+1]
	switch m.shape {
	case likeContains:
		containsRows(v.data, offs, m.lit, bits)
	case likeAny:
		bitutil.SetBitsTo(bits, 0, int64(n), true)
	case likeNone:
	default:
		for i := 0; i < n; i++ {
			if m.match(v.data[offs[i]:offs[i+1]]) {
				bitutil.SetBit(bits, i)
			}
		}
	}
	if negate {
		for i := range bits {
			bits[i] = ^bits[i]
		}
		if n%8 != 0 { // the bits past the last row stay clear
			bits[len(bits)-1] &= byte(1)<<(n%8) - 1
		}
	}
	return makeArray(arrow.FixedWidthTypes.Boolean, n, validity, buf, nulls), true, nil
}

// containsRows sets bit i for each row i whose value data[offs[i]:offs[i+1]]
// contains lit (not empty). It searches the rows' bytes as one run: a find
// that starts in a row and ends past it means no later start in that row
// fits either, so the search goes on at the next row.
func containsRows(data []byte, offs []int32, lit []byte, bits []byte) {
	row, n := 0, len(offs)-1
	pos, end := int(offs[0]), int(offs[n])
	for pos < end {
		k := bytes.Index(data[pos:end], lit)
		if k < 0 {
			return
		}
		start := pos + k
		for int(offs[row+1]) <= start {
			row++
		}
		if start+len(lit) <= int(offs[row+1]) {
			bitutil.SetBit(bits, row)
		}
		pos = int(offs[row+1])
		row++
	}
}

// likeRows is LIKE over arguments of other array types, value by value.
func likeRows(ci, negate bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		// matchers keep a buffer: one cache per call, never shared
		return likeRowsWith(map[string]*likeMatcher{}, ci, negate)(ec, args, n)
	}
}

func likeRowsWith(cache map[string]*likeMatcher, ci, negate bool) Kernel {
	return rowKernel(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
		p := ds[1].(string)
		m, ok := cache[p]
		if !ok {
			var err error
			if m, err = compileLike([]byte(p), ci); err != nil {
				return nil, err
			}
			if len(cache) > 1000 {
				clear(cache)
			}
			cache[p] = m
		}
		matched, err := m.matchChecked([]byte(ds[0].(string)))
		return matched != negate, err
	})
}

// textView reads the values of a string array straight from its offsets
// and data buffers, without a Go string per value.
type textView struct {
	offsets []int32
	data    []byte
}

func viewText(a *array.String) textView {
	v := textView{offsets: a.ValueOffsets()}
	if bufs := a.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		v.data = bufs[2].Bytes()
	}
	return v
}

// at is value i; it aliases the array's buffer.
func (v textView) at(i int) []byte {
	return v.data[v.offsets[i]:v.offsets[i+1]]
}

// likeEscape is like_escape(pattern, escape), which the grammar makes of
// LIKE … ESCAPE: it rewrites pattern to escape with backslash. An empty
// escape turns escaping off (every backslash becomes literal).
func likeEscape(ds []types.Datum) (types.Datum, error) {
	pattern, esc := ds[0].(string), ds[1].(string)
	if utf8.RuneCountInString(esc) > 1 {
		return nil, sqlerr.New("22025", "invalid escape string").WithHint("Escape string must be empty or one character.")
	}
	if esc == `\` {
		return pattern, nil
	}
	e, _ := utf8.DecodeRuneInString(esc)
	out := make([]byte, 0, len(pattern)+4)
	afterEscape := false
	for _, r := range pattern {
		switch {
		case esc != "" && r == e && !afterEscape:
			out = append(out, '\\')
			afterEscape = true
		case r == '\\':
			out = append(out, '\\')
			if !afterEscape {
				out = append(out, '\\')
			}
			afterEscape = false
		default:
			out = utf8.AppendRune(out, r)
			afterEscape = false
		}
	}
	return string(out), nil
}

// size is the number of data bytes the array's values span.
func (v textView) size() int {
	return int(v.offsets[len(v.offsets)-1] - v.offsets[0])
}
