package logical

// SharedPlan is the body of a WITH query that more than one place of the
// statement reads: it is computed once and every CTEScan of it reads the
// same rows (PostgreSQL materializes such a CTE too).
type SharedPlan struct {
	Name string
	Plan Plan
	// Optimized is set once the optimizer has rewritten Plan.
	Optimized bool
}

// CTEScan reads a SharedPlan. Cols are this reference's own columns, one
// per column of the shared plan, in order. It is a leaf: rewrites of the
// reading query never reach into the shared body.
type CTEScan struct {
	Shared *SharedPlan
	Cols   []Column
}

func (s *CTEScan) Columns() []Column        { return s.Cols }
func (s *CTEScan) Children() []Plan         { return nil }
func (s *CTEScan) WithChildren([]Plan) Plan { return s }
func (s *CTEScan) String() string           { return "CTEScan " + s.Shared.Name }
