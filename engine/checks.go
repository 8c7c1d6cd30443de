package engine

import (
	"context"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// addChecks declares CHECK constraints on t after binding each over its
// columns (a condition that does not bind is refused now, not at the
// first INSERT).
func (s *Session) addChecks(env *exec.Env, t *catalog.Table, checks []pendingCheck) error {
	for _, pc := range checks {
		text, err := deparseExpr(pc.expr)
		if err != nil {
			return err
		}
		c := catalog.Check{Name: pc.name, Expr: text}
		cond, cols, err := s.bindCheck(env, t, c)
		if err != nil {
			return err
		}
		name := pc.name
		if name == "" {
			// PostgreSQL names a check after the one column it reads
			column := pc.column
			if used := logical.ColumnsUsed(cond); column == "" && len(used) == 1 {
				for _, col := range cols {
					if used[col.ID] {
						column = col.Name
					}
				}
			}
			name = t.Name + "_check"
			if column != "" {
				name = t.Name + "_" + column + "_check"
			}
			for n := 1; hasCheck(t, name); n++ {
				name = strings.TrimRight(strings.TrimSuffix(name, "_check"), "0123456789") + "_check" + itoa(int64(n))
			}
		} else if hasCheck(t, name) {
			return sqlerr.New(sqlerr.DuplicateObject, "constraint \"%s\" for relation \"%s\" already exists", name, t.Name)
		}
		c.Name = name
		c.ConOID = s.db.cat.AllocOID()
		t.Checks = append(t.Checks, c)
	}
	return nil
}

func hasCheck(t *catalog.Table, name string) bool {
	for _, c := range t.Checks {
		if c.Name == name {
			return true
		}
	}
	return false
}

// bindCheck binds a CHECK over t's columns.
func (s *Session) bindCheck(env *exec.Env, t *catalog.Table, c catalog.Check) (logical.Expr, []logical.Column, error) {
	stmts, err := parser.Parse("SELECT " + c.Expr)
	if err != nil {
		return nil, nil, err
	}
	rt := stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget()
	b := s.binder(env)
	ts := b.BeginTable(t, "")
	cond, err := b.BindIn(ts, rt.Val, "check constraints")
	if err != nil {
		return nil, nil, err
	}
	if cond.Type().Kind != types.Bool {
		return nil, nil, sqlerr.New(sqlerr.DatatypeMismatch, "argument of CHECK must be type boolean, not type %s", cond.Type())
	}
	return cond, ts.Scan.Cols, nil
}

// checkExpr binds and compiles a CHECK over t's columns.
func (s *Session) checkExpr(env *exec.Env, t *catalog.Table, c catalog.Check) (exec.Expr, error) {
	cond, cols, err := s.bindCheck(env, t, c)
	if err != nil {
		return nil, err
	}
	pb := s.newBuilder(env)
	defer pb.Release()
	return pb.Compile(cond, cols)
}

// checkRows enforces t's CHECK constraints on rows about to be stored.
func (s *Session) checkRows(ctx context.Context, t *catalog.Table, recs []arrow.Record) error {
	if len(t.Checks) == 0 {
		return nil
	}
	env := s.env()
	ec := exec.NewEvalContext(ctx, env)
	for _, c := range t.Checks {
		expr, err := s.checkExpr(env, t, c)
		if err != nil {
			return err
		}
		for _, r := range recs {
			out, err := expr.Eval(ec, r)
			if err != nil {
				return err
			}
			res := out.(*array.Boolean)
			for i := 0; i < res.Len(); i++ {
				if res.IsValid(i) && !res.Value(i) {
					out.Release()
					return sqlerr.New(sqlerr.CheckViolation, "new row for relation \"%s\" violates check constraint \"%s\"", t.Name, c.Name).
						WithDetail("Failing row contains " + rowText(t, r, i, s.zone) + ".")
				}
			}
			out.Release()
		}
	}
	return nil
}

// rowText renders row i as PostgreSQL's "Failing row contains (…)",
// timestamptz in the session's zone.
func rowText(t *catalog.Table, r arrow.Record, i int, zone *time.Location) string {
	vals := make([]string, len(t.Columns))
	for c, col := range t.Columns {
		d := exec.DatumAt(r.Column(c), i)
		if d == nil {
			vals[c] = "null"
			continue
		}
		vals[c] = types.FormatIn(col.Type, d, zone)
	}
	return "(" + strings.Join(vals, ", ") + ")"
}
