package engine

import (
	"context"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

// cursor is an open DECLARE … CURSOR: its query ran when it was declared
// (there are no transactions to keep a snapshot in), and FETCH hands out
// its rows in order.
type cursor struct {
	res        *Result
	batch, row int
}

func (s *Session) declareCursor(ctx context.Context, st *pg.DeclareCursorStmt) (*Result, error) {
	name := strings.ToLower(st.Portalname)
	if _, exists := s.cursors[name]; exists {
		return nil, sqlerr.New(sqlerr.DuplicateCursor, "cursor \"%s\" already exists", name)
	}
	sel := st.Query.GetSelectStmt()
	if sel == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cursors over anything but SELECT are not supported")
	}
	res, err := s.runQuery(ctx, s.env(), sel)
	if err != nil {
		return nil, err
	}
	if s.cursors == nil {
		s.cursors = map[string]*cursor{}
	}
	s.cursors[name] = &cursor{res: res}
	return &Result{Tag: "DECLARE CURSOR"}, nil
}

func (s *Session) fetch(st *pg.FetchStmt) (*Result, error) {
	name := strings.ToLower(st.Portalname)
	c, ok := s.cursors[name]
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidCursorName, "cursor \"%s\" does not exist", name)
	}
	if st.Direction != pg.FetchDirection_FETCH_FORWARD {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "only FETCH FORWARD is supported")
	}
	want := st.HowMany // FETCH ALL is a huge count
	out := &Result{Columns: c.res.Columns, Query: true}
	var taken int64
	for c.batch < len(c.res.Batches) && taken < want {
		b := c.res.Batches[c.batch]
		n := min(b.NumRows()-int64(c.row), want-taken)
		if st.Ismove {
			taken += n
		} else {
			out.Batches = append(out.Batches, b.NewSlice(int64(c.row), int64(c.row)+n))
			taken += n
		}
		c.row += int(n)
		if int64(c.row) == b.NumRows() {
			c.batch, c.row = c.batch+1, 0
		}
	}
	verb := "FETCH "
	if st.Ismove {
		verb, out.Query, out.Columns = "MOVE ", false, nil
	}
	out.Tag = verb + itoa(taken)
	return out, nil
}

func (s *Session) closeCursor(st *pg.ClosePortalStmt) (*Result, error) {
	if st.Portalname == "" { // CLOSE ALL
		s.closeCursors()
		return &Result{Tag: "CLOSE CURSOR ALL"}, nil
	}
	name := strings.ToLower(st.Portalname)
	c, ok := s.cursors[name]
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidCursorName, "cursor \"%s\" does not exist", name)
	}
	c.res.Release()
	delete(s.cursors, name)
	return &Result{Tag: "CLOSE CURSOR"}, nil
}

// closeCursors releases every open cursor (CLOSE ALL, session end).
func (s *Session) closeCursors() {
	for name, c := range s.cursors {
		c.res.Release()
		delete(s.cursors, name)
	}
}
