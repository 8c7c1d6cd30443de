package parser

import (
	"errors"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

func plusChain(n int) string { return "SELECT 1" + strings.Repeat("+1", n-1) }

func TestEstimateDepth(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		want int
	}{
		{"flat", "SELECT a, b FROM t", subqueryWeight + 1},
		{"chain", "SELECT 1+2*3", subqueryWeight + 3},
		{"commas end chains", "SELECT 1+2, 3+4, 5+6", subqueryWeight + 2},
		{"parentheses", "SELECT ((1))", subqueryWeight + 3},
		{"operators inside parentheses", "SELECT (1+(2+3))", subqueryWeight + 5},
		{"a parameter is no dollar quote", "SELECT $1 + $2", subqueryWeight + 2},
		{"AND lists are flat", "SELECT 1 WHERE a=1 AND b=2 AND c=3", subqueryWeight + 2},
		{"set operations chain", "SELECT 1 UNION SELECT 2 UNION SELECT 3", 3 + 3*subqueryWeight},
		{"string literal", "SELECT '+++((('", subqueryWeight + 1},
		{"escape string", `SELECT E'\'+++'`, subqueryWeight + 1},
		{"quoted identifier", `SELECT "a+b+c"`, subqueryWeight + 1},
		{"dollar quoting", "SELECT $x$ + + ( $x$", subqueryWeight + 1},
		{"parameters", "SELECT $1+$2", subqueryWeight + 2},
		{"comments", "SELECT 1 -- + + +\n/* + /* + */ + */", subqueryWeight + 1},
		{"statements reset", "SELECT 1+1+1; SELECT 2", subqueryWeight + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := estimateDepth(tc.sql); got != tc.want {
				t.Errorf("estimateDepth(%q) = %d, want %d", tc.sql, got, tc.want)
			}
		})
	}
}

// TestDeepInputIsRejected checks inputs that used to crash the process in
// pg_query's C code or fail as syntax errors: PostgreSQL answers 54001.
func TestDeepInputIsRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
	}{
		{"50,000 additions", plusChain(50000)},
		{"5,000 additions", plusChain(5000)},
		{"casts", "SELECT 1" + strings.Repeat("::int", 20000)},
		{"set operations", strings.Repeat("SELECT 1 UNION ALL ", 60000) + "SELECT 1"},
		{"joins", "SELECT * FROM t" + strings.Repeat(" JOIN t ON true", 30000)},
		{"right-deep additions", "SELECT " + strings.Repeat("1+(", 4000) + "1" + strings.Repeat(")", 4000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.sql)
			var se *sqlerr.Error
			if !errors.As(err, &se) || se.Code != sqlerr.StackDepthLimitExceeded {
				t.Fatalf("got %v, want 54001", err)
			}
			if se.Message != "stack depth limit exceeded" || !strings.Contains(se.Hint, "max_stack_depth") {
				t.Errorf("message %q hint %q", se.Message, se.Hint)
			}
		})
	}
}

func TestAcceptedDepths(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
	}{
		{"1,000 additions", plusChain(1000)},
		{"nested parentheses", "SELECT " + strings.Repeat("(", 2000) + "1" + strings.Repeat(")", 2000)},
		{"long AND list", "SELECT 1 WHERE " + strings.Repeat("1=1 AND ", 10000) + "true"},
		{"long CASE", "SELECT CASE" + strings.Repeat(" WHEN 1=1 THEN 1+1", 10000) + " END"},
		{"long IN list", "SELECT 1 IN (" + strings.Repeat("1+1,", 20000) + "1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := Parse(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Deparse(stmts[0].Stmt); err != nil {
				t.Fatalf("deparse: %v", err)
			}
		})
	}
}

// TestDeparseBoundsDepth builds a tree deeper than the deparser's C code
// can take on a small stack: it must be refused, not crash.
func TestDeparseBoundsDepth(t *testing.T) {
	expr := pg.MakeAConstIntNode(1, 0)
	for range 3000 {
		expr = pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, []*pg.Node{pg.MakeStrNode("+")}, expr, pg.MakeAConstIntNode(1, 0), 0)
	}
	sel := &pg.SelectStmt{TargetList: []*pg.Node{pg.MakeResTargetNodeWithVal(expr, 0)}}
	_, err := Deparse(&pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}})
	var se *sqlerr.Error
	if !errors.As(err, &se) || se.Code != sqlerr.StackDepthLimitExceeded {
		t.Fatalf("got %v, want 54001", err)
	}
}
