package parser

import (
	"google.golang.org/protobuf/reflect/protoreflect"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Why a pre-scan: PostgreSQL's grammar reduces a chain of left-associative
// operators (1+1+…+1, a::t::t…, … UNION … UNION …, … JOIN … JOIN …)
// iteratively into a left-deep tree, so the grammar itself accepts any
// length. pg_query then serialises that tree to protobuf with protobuf-c,
// which recurses once per tree level on the C stack of the calling thread;
// around 24,000 terms on an 8 MB stack (5,500 on a 2 MB one) that overflows
// and the whole process dies with SIGSEGV. A Go-side estimate of the depth,
// taken before the text reaches cgo, turns such input into PostgreSQL's own
// error instead. (Bracket nesting is bounded by the grammar: bison stops at
// 10,000 stack entries with "memory exhausted".)

// MaxExpressionDepth bounds the estimated nesting of one statement. It is
// below PostgreSQL's own limit with its default 2 MB max_stack_depth (a
// chain of about 4,980 additions) and far below the depth at which the C
// serialiser overflows.
const MaxExpressionDepth = 3000

// StackDepthError is PostgreSQL's answer to too deeply nested input.
func StackDepthError() *sqlerr.Error {
	return &sqlerr.Error{Code: sqlerr.StackDepthLimitExceeded, Message: "stack depth limit exceeded",
		Hint: `Increase the configuration parameter "max_stack_depth" (currently 2048kB), after ensuring the platform's stack depth limit is adequate.`}
}

// checkNesting rejects text whose estimated expression depth exceeds
// MaxExpressionDepth.
func checkNesting(sql string) error {
	if estimateDepth(sql) > MaxExpressionDepth {
		return StackDepthError()
	}
	return nil
}

// subqueryWeight is what one SELECT adds to the estimate: nested
// subqueries overflowed a 2 MB C stack at 2,900 levels where nested
// function calls did not.
const subqueryWeight = 3

// nestLevel counts, inside one pair of brackets, the operators that make a
// left-deep chain: operators since the last list separator, and set
// operations and joins since the statement began.
type nestLevel struct {
	ops, chain int
}

// estimateDepth returns an upper estimate of how deep the parse tree of
// sql nests: for every enclosing bracket one level plus the chained
// operators seen in it. Commas and the keywords that start a new list
// element or clause (AND/OR lists are flat in PostgreSQL's trees, as are
// CASE arms) end an operator chain. Text in literals, quoted identifiers
// and comments is skipped.
func estimateDepth(sql string) int {
	levels := []nestLevel{{}}
	depth, maxDepth := 1, 1
	note := func() {
		if depth > maxDepth {
			maxDepth = depth
		}
	}
	resetOps := func() {
		top := &levels[len(levels)-1]
		depth -= top.ops
		top.ops = 0
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			i = skipLineComment(sql, i)
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = skipBlockComment(sql, i)
		case c == '\'':
			i = skipQuoted(sql, i, '\'', false)
		case c == '"':
			i = skipQuoted(sql, i, '"', false)
		case c == '$':
			i = skipDollar(sql, i)
		case c == '(' || c == '[':
			levels = append(levels, nestLevel{})
			depth++
			note()
			i++
		case c == ')' || c == ']':
			if len(levels) > 1 {
				top := levels[len(levels)-1]
				depth -= 1 + top.ops + top.chain
				levels = levels[:len(levels)-1]
			}
			i++
		case c == ',':
			resetOps()
			i++
		case c == ';':
			resetOps()
			top := &levels[len(levels)-1]
			depth -= top.chain
			top.chain = 0
			i++
		case isOperatorChar(c):
			for i < len(sql) && isOperatorChar(sql[i]) {
				i++
			}
			levels[len(levels)-1].ops++
			depth++
			note()
		case isWordStart(c):
			start := i
			for i < len(sql) && isWordChar(sql[i]) {
				i++
			}
			word := sql[start:i]
			if (word == "E" || word == "e") && i < len(sql) && sql[i] == '\'' {
				i = skipQuoted(sql, i, '\'', true)
				continue
			}
			switch strings.ToUpper(word) {
			case "SELECT":
				// a subquery nests several messages per level (SubLink,
				// SelectStmt, ResTarget, …): it weighs more than a bracket
				levels[len(levels)-1].chain += subqueryWeight
				depth += subqueryWeight
				note()
				resetOps()
			case "NOT", "IS", "ISNULL", "NOTNULL", "COLLATE", "AT", "LIKE", "ILIKE", "SIMILAR", "BETWEEN", "IN", "OVERLAPS":
				// keyword operators chain like symbolic ones (NOT NOT …,
				// x IS NULL IS NULL …)
				levels[len(levels)-1].ops++
				depth++
				note()
			case "UNION", "INTERSECT", "EXCEPT", "JOIN":
				levels[len(levels)-1].chain++
				depth++
				note()
			case "AND", "OR", "WHEN", "THEN", "ELSE", "END", "FROM", "WHERE",
				"HAVING", "BY", "LIMIT", "OFFSET", "ON", "SET", "VALUES", "RETURNING":
				resetOps()
			}
		default:
			i++
		}
	}
	return maxDepth
}

func isOperatorChar(c byte) bool {
	return strings.IndexByte("+-*/<>=~!@#%^&|`?:", c) >= 0
}

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordChar(c byte) bool {
	return isWordStart(c) || c >= '0' && c <= '9' || c == '$'
}

func skipLineComment(sql string, i int) int {
	if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(sql)
}

// skipBlockComment skips a /* */ comment, which nests in PostgreSQL.
func skipBlockComment(sql string, i int) int {
	nesting := 0
	for i < len(sql) {
		switch {
		case strings.HasPrefix(sql[i:], "/*"):
			nesting++
			i += 2
		case strings.HasPrefix(sql[i:], "*/"):
			nesting--
			i += 2
			if nesting == 0 {
				return i
			}
		default:
			i++
		}
	}
	return i
}

// skipQuoted skips a literal or quoted identifier opened at i; a doubled
// quote is part of it, and so is a backslash escape in E” strings.
func skipQuoted(sql string, i int, quote byte, backslashes bool) int {
	for i++; i < len(sql); i++ {
		switch {
		case backslashes && sql[i] == '\\':
			i++
		case sql[i] == quote:
			if i+1 < len(sql) && sql[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return i
}

// skipDollar skips a $tag$…$tag$ literal; a $n parameter is left as a word.
func skipDollar(sql string, i int) int {
	j := i + 1
	for j < len(sql) && (isWordChar(sql[j]) && sql[j] != '$') {
		j++
	}
	if j >= len(sql) || sql[j] != '$' || (j > i+1 && sql[i+1] >= '0' && sql[i+1] <= '9') {
		return i + 1
	}
	tag := sql[i : j+1]
	if end := strings.Index(sql[j+1:], tag); end >= 0 {
		return j + 1 + end + len(tag)
	}
	return len(sql)
}

// maxDeparseDepth bounds the nesting (in protobuf messages, two per
// operator) of a tree handed to pg_query's deparser. Its C code needs
// about 1.6 kB of stack per operator: it overflowed a 2 MB thread stack
// at 1,500 chained additions and an 8 MB one below 4,900, so the bound
// keeps a margin below the smaller.
const maxDeparseDepth = 2400

// treeDeeperThan reports whether m nests more than limit messages deep.
func treeDeeperThan(m protoreflect.Message, limit int) bool {
	if limit < 0 {
		return true
	}
	deeper := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		switch {
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len() && !deeper; i++ {
				deeper = treeDeeperThan(list.Get(i).Message(), limit-1)
			}
		case fd.IsMap():
			// pg_query's trees have no maps
		default:
			deeper = treeDeeperThan(v.Message(), limit-1)
		}
		return !deeper
	})
	return deeper
}
