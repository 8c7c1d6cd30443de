package binder

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/types"
)

// shownDefault is a column's DEFAULT as PostgreSQL prints it back
// (pg_get_expr of pg_attrdef.adbin, information_schema.columns): a quoted
// literal carries the column type's cast ('x'::text, '{}'::json), a
// negative number is quoted and cast to its literal's type ('-1'::integer), and SQL value
// functions are in capitals. Migration tools compare defaults in this
// form.
func shownDefault(c catalog.Column) string {
	def := strings.TrimSpace(c.Default)
	switch {
	case quotedLiteral.MatchString(def):
		return def + "::" + castName(c.Type)
	case negativeNumber.MatchString(def):
		return "'" + def + "'::" + numberLiteralType(def)
	}
	if up := strings.ToUpper(def); sqlValueFunctions[up] {
		return up
	}
	return def
}

var (
	quotedLiteral  = regexp.MustCompile(`^'([^']|'')*'$`)
	negativeNumber = regexp.MustCompile(`^-[0-9]+(\.[0-9]+)?$`)
	// the SQL value functions PostgreSQL prints by their keyword
	sqlValueFunctions = map[string]bool{"CURRENT_TIMESTAMP": true, "CURRENT_DATE": true, "CURRENT_TIME": true, "LOCALTIMESTAMP": true,
		"LOCALTIME": true, "CURRENT_USER": true, "SESSION_USER": true, "CURRENT_ROLE": true, "USER": true, "CURRENT_CATALOG": true, "CURRENT_SCHEMA": true}
)

// numberLiteralType is the type PostgreSQL gives a numeric literal:
// integer when it fits, then bigint, else numeric.
func numberLiteralType(lit string) string {
	if strings.Contains(lit, ".") {
		return "numeric"
	}
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return "integer"
		}
		return "bigint"
	}
	return "numeric"
}

// castName is a type as a cast names it in a printed default: without
// its length or precision, char as bpchar.
func castName(t types.T) string {
	switch t.Kind {
	case types.Char:
		return "bpchar"
	case types.Varchar:
		return "character varying"
	case types.Numeric:
		return "numeric"
	case types.Enum:
		return t.Enum.Name
	case types.Array:
		return castName(t.ElemT()) + "[]"
	}
	bare := t
	bare.Len, bare.Prec, bare.Scale = 0, 0, 0
	return bare.String()
}

// shownGenerated is a generation expression as PostgreSQL prints it back
// (pg_get_expr, information_schema.columns.generation_expression): an
// operator expression in parentheses, a lone column, literal or function
// call as it is.
func shownGenerated(expr string) string {
	e := strings.TrimSpace(expr)
	if bareTerm.MatchString(e) || singleCall(e) {
		return e
	}
	return "(" + e + ")"
}

var bareTerm = regexp.MustCompile(`^("[^"]*"|[A-Za-z_][A-Za-z0-9_$]*|[0-9.]+|'([^']|'')*')$`)

// singleCall reports whether e is one function call, name(...), its
// parentheses closing at the end.
func singleCall(e string) bool {
	open := strings.IndexByte(e, '(')
	if open <= 0 || !bareTerm.MatchString(e[:open]) || !strings.HasSuffix(e, ")") {
		return false
	}
	depth := 0
	for i := open; i < len(e); i++ {
		switch e[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(e)-1 {
				return false
			}
		}
	}
	return true
}
