package tpch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// QueriesFile is where the 22 query texts live, relative to the directory
// beside the checkout (../shared in the Makefile).
const QueriesFile = "bench/tpch-queries.sql"

// Query is one TPC-H query with what its top-level ORDER BY fixes.
type Query struct {
	Name string // "q01" … "q22"
	SQL  string
	// OrderBy names the output columns the top-level ORDER BY sorts on, in
	// order (nil when there is none, or when an item is not a plain name:
	// then the rows are compared as a multiset).
	OrderBy []string
	// Limited reports a top-level LIMIT: rows that tie on the ORDER BY keys
	// at the cut may differ between engines.
	Limited bool
}

// ReadQueries reads and parses a file of queries, each introduced by a
// line "-- name: qNN".
func ReadQueries(path string) ([]Query, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tpch: reading the queries: %w", err)
	}
	return ParseQueries(string(text))
}

// ParseQueries splits text at "-- name: NAME" lines.
func ParseQueries(text string) ([]Query, error) {
	var qs []Query
	var cur *Query
	var body strings.Builder
	finish := func() error {
		if cur == nil {
			return nil
		}
		cur.SQL = strings.TrimSuffix(strings.TrimSpace(body.String()), ";")
		if err := cur.readOrder(); err != nil {
			return err
		}
		qs = append(qs, *cur)
		return nil
	}
	for _, l := range strings.Split(text, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "-- name:"); ok {
			if err := finish(); err != nil {
				return nil, err
			}
			cur = &Query{Name: strings.TrimSpace(name)}
			body.Reset()
			continue
		}
		if cur != nil {
			body.WriteString(l)
			body.WriteByte('\n')
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("tpch: no \"-- name:\" queries found")
	}
	return qs, nil
}

// readOrder fills OrderBy and Limited from the query's parse tree.
func (q *Query) readOrder() error {
	tree, err := pg.Parse(q.SQL)
	if err != nil {
		return fmt.Errorf("tpch: %s: %w", q.Name, err)
	}
	if len(tree.Stmts) != 1 {
		return fmt.Errorf("tpch: %s: %d statements, want 1", q.Name, len(tree.Stmts))
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil {
		return fmt.Errorf("tpch: %s is not a SELECT", q.Name)
	}
	q.Limited = sel.LimitCount != nil
	for _, item := range sel.SortClause {
		ref := item.GetSortBy().GetNode().GetColumnRef()
		if ref == nil || len(ref.Fields) != 1 || ref.Fields[0].GetString_() == nil {
			q.OrderBy = nil
			return nil
		}
		q.OrderBy = append(q.OrderBy, ref.Fields[0].GetString_().Sval)
	}
	return nil
}

// FindQueriesFile looks for QueriesFile in a "shared" directory beside the
// checkout that holds dir, walking up from dir to the module root.
func FindQueriesFile(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "tpch", "gen.go")); err == nil {
				p := filepath.Join(filepath.Dir(d), "shared", QueriesFile)
				if _, err := os.Stat(p); err != nil {
					return "", fmt.Errorf("tpch: the query texts %s are missing: %w", p, err)
				}
				return p, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("tpch: no weft checkout above %s", abs)
		}
	}
}
