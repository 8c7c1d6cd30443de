package parser

import (
	"math"
	"strconv"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Cache keeps the parse trees of queries a client sends over and over
// with other integer constants (an application's `SELECT … WHERE id =
// 42`, sent as text without parameters): parsing is a call into C and a
// decode of its result, a good part of such a query's cost. A query
// whose text differs from a cached one only in the digits of its integer
// constants, each of the same length, gets the cached tree with those
// constants set to the new values: the very tree the parser would make,
// every location in it the same (so errors point where they should).
//
// Only a single SELECT, INSERT, UPDATE, DELETE or transaction statement
// (pgbench's BEGIN and END around each transaction) of plain text is
// cached: no quotes, dollar signs, comments or backslashes, so that a
// scan of a few lines tells every integer constant apart from the rest.
// A tree is kept only when each such constant is an integer constant
// node at its place in it, or, for one after a minus sign the grammar
// folds into it (pgbench's `abalance + -1234`), the negated constant node
// at the minus sign; a constant the grammar turns into something else
// makes the query's shape uncacheable.
//
// The trees Parse returns are reused by its next call: a caller must be
// done with them by then (a session parses one string at a time).
type Cache struct {
	entries map[string]*cachedTree
	// key and lits are the last lookup's key and literal offsets, kept to
	// be written over by the next (a lookup of a cached shape allocates
	// nothing for them)
	key  []byte
	lits []int
}

type cachedTree struct {
	stmts []*pg.RawStmt
	// consts are the constant nodes of the integer literals, in the
	// order of the literals in the text
	consts []*pg.A_Const
	// negated marks the literals whose node is the constant negated (the
	// grammar folded a minus sign before the literal into it)
	negated []bool
	// reusable is false for a shape whose trees cannot be reused
	reusable bool
}

// maxCachedShapes bounds the cache: past it, a new shape takes the place
// of an arbitrary one. (Starting afresh instead would drop every hot
// shape whenever the rare ones fill the cache: pgbench's INSERT alone
// comes in a hundred shapes, its four constants' lengths varying.)
const maxCachedShapes = 256

// Parse is the package's Parse, through the cache.
func (c *Cache) Parse(sql string) ([]*pg.RawStmt, error) {
	key, lits, ok := cacheKey(c.key[:0], c.lits[:0], sql)
	c.key, c.lits = key, lits
	if !ok {
		return Parse(sql)
	}
	// (a map index by string(bytes) does not copy the bytes)
	if e := c.entries[string(key)]; e != nil {
		if !e.reusable || !e.set(sql, lits) {
			return Parse(sql)
		}
		return e.stmts, nil
	}
	stmts, err := Parse(sql)
	if err != nil {
		return nil, err
	}
	if c.entries == nil {
		c.entries = map[string]*cachedTree{}
	}
	c.makeRoom()
	c.entries[string(key)] = newCachedTree(stmts, sql, lits)
	return stmts, nil
}

// makeRoom drops an arbitrary shape (the first of the map's randomised
// order) when the cache is full.
func (c *Cache) makeRoom() {
	for key := range c.entries {
		if len(c.entries) < maxCachedShapes {
			return
		}
		delete(c.entries, key)
	}
}

// newCachedTree keeps stmts for queries of sql's shape if each integer
// literal of sql (lits, their offsets) is an integer constant node of
// its value there.
func newCachedTree(stmts []*pg.RawStmt, sql string, lits []int) *cachedTree {
	e := &cachedTree{stmts: stmts}
	if len(stmts) != 1 || !cacheableStatement(stmts[0].Stmt) {
		return e
	}
	at := map[int32]*pg.A_Const{}
	collectConsts(stmts[0].ProtoReflect(), at)
	consts := make([]*pg.A_Const, len(lits))
	negated := make([]bool, len(lits))
	for i, off := range lits {
		v, ok := literalValue(sql, off)
		if !ok {
			return e
		}
		if c := at[int32(off)]; isIntConst(c, v) {
			consts[i] = c
			continue
		}
		minus, ok := minusBefore(sql, off)
		if c := at[int32(minus)]; !ok || !isIntConst(c, -v) {
			return e
		}
		consts[i], negated[i] = at[int32(minus)], true
	}
	e.consts, e.negated, e.reusable = consts, negated, true
	return e
}

// cacheableStatement reports whether trees of st's kind may be reused:
// the kinds whose trees the engine reads but never changes.
func cacheableStatement(st *pg.Node) bool {
	return st.GetSelectStmt() != nil || st.GetInsertStmt() != nil ||
		st.GetUpdateStmt() != nil || st.GetDeleteStmt() != nil ||
		st.GetTransactionStmt() != nil
}

// isIntConst reports whether c is an integer constant node of value v.
func isIntConst(c *pg.A_Const, v int64) bool {
	return c != nil && !c.Isnull && c.GetIval() != nil && int64(c.GetIval().Ival) == v
}

// minusBefore is the offset of the minus sign before the literal at off
// (blanks between them allowed), if there is one.
func minusBefore(sql string, off int) (int, bool) {
	i := off - 1
	for i >= 0 && isBlank(sql[i]) {
		i--
	}
	return i, i >= 0 && sql[i] == '-'
}

func isBlank(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'
}

// set puts the integer literals of sql (of the cached shape) into the
// tree's constant nodes; false when one does not fit the integer node
// the tree has for it (the grammar makes a larger one a numeric).
func (e *cachedTree) set(sql string, lits []int) bool {
	for _, off := range lits {
		if _, ok := literalValue(sql, off); !ok {
			return false
		}
	}
	for i, c := range e.consts {
		v, _ := literalValue(sql, lits[i])
		if e.negated[i] {
			v = -v
		}
		// the node the tree has is an integer's (newCachedTree, and
		// earlier calls, made sure): its value is set in place
		if iv, ok := c.Val.(*pg.A_Const_Ival); ok && iv.Ival != nil {
			iv.Ival.Ival = int32(v)
			continue
		}
		c.Val = &pg.A_Const_Ival{Ival: &pg.Integer{Ival: int32(v)}}
	}
	return true
}

// literalValue reads the integer literal at off, if it fits an int32.
func literalValue(sql string, off int) (int64, bool) {
	end := off
	for end < len(sql) && isDigit(sql[end]) {
		end++
	}
	v, err := strconv.ParseInt(sql[off:end], 10, 64)
	return v, err == nil && v <= math.MaxInt32
}

// collectConsts finds the constant nodes under m, by location.
func collectConsts(m protoreflect.Message, at map[int32]*pg.A_Const) {
	walk(m, func(n proto.Message) bool {
		if c, ok := n.(*pg.A_Const); ok {
			at[c.Location] = c
			return false
		}
		return true
	})
}

// cacheKey is sql with the digits of each integer literal replaced by
// zeros, and the literals' offsets, appended to key and lits; ok is false
// for text the scan does not take apart (see Cache).
func cacheKey(key []byte, lits []int, sql string) ([]byte, []int, bool) {
	b := append(key, sql...)
	for i := 0; i < len(b); {
		ch := b[i]
		switch {
		case ch >= 0x80, ch == '\'', ch == '"', ch == '$', ch == '\\', ch == '`':
			return b, lits, false
		case ch == '-' && i+1 < len(b) && b[i+1] == '-', ch == '/' && i+1 < len(b) && b[i+1] == '*':
			return b, lits, false
		case isIdentStart(ch):
			for i < len(b) && (isIdentStart(b[i]) || isDigit(b[i])) {
				i++
			}
		case isDigit(ch):
			start := i
			for i < len(b) && isDigit(b[i]) {
				i++
			}
			// a number running into a point, an exponent or letters
			// (12.5, 1e3, 0x1F, 1_000) is not a plain integer literal
			if i < len(b) && (b[i] == '.' || isIdentStart(b[i])) || start > 0 && b[start-1] == '.' {
				return b, lits, false
			}
			for j := start; j < i; j++ {
				b[j] = '0'
			}
			lits = append(lits, start)
		default:
			i++
		}
	}
	return b, lits, true
}

func isDigit(ch byte) bool { return ch >= '0' && ch <= '9' }

func isIdentStart(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '_'
}
