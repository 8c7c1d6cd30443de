package weft

import (
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

func arrayNewRecord(schema *arrow.Schema, cols []arrow.Array, rows int64) arrow.Record {
	return array.NewRecord(schema, cols, rows)
}

func countTrue(a arrow.Array) int64 {
	b := a.(*array.Boolean)
	var n int64
	for i := 0; i < b.Len(); i++ {
		if b.IsValid(i) && b.Value(i) {
			n++
		}
	}
	return n
}

func settingValue(args []*pg.Node) string {
	var parts []string
	for _, a := range args {
		switch x := a.Node.(type) {
		case *pg.Node_AConst:
			switch v := x.AConst.Val.(type) {
			case *pg.A_Const_Sval:
				parts = append(parts, v.Sval.Sval)
			case *pg.A_Const_Ival:
				parts = append(parts, itoa(int64(v.Ival.Ival)))
			case *pg.A_Const_Fval:
				parts = append(parts, v.Fval.Fval)
			case *pg.A_Const_Boolval:
				if v.Boolval.Boolval {
					parts = append(parts, "on")
				} else {
					parts = append(parts, "off")
				}
			}
		case *pg.Node_TypeCast:
			parts = append(parts, settingValue([]*pg.Node{x.TypeCast.Arg}))
		}
	}
	return strings.Join(parts, ", ")
}

func (s *Session) set(st *pg.VariableSetStmt) (*Result, error) {
	name := lower(st.Name)
	switch st.Kind {
	case pg.VariableSetKind_VAR_SET_VALUE:
		v := settingValue(st.Args)
		if name == "search_path" {
			var path []string
			for _, p := range strings.Split(v, ",") {
				path = append(path, strings.Trim(strings.TrimSpace(p), `"`))
			}
			s.searchPath = path
		}
		if name == "timezone" && !strings.EqualFold(v, "utc") && v != "0" && !strings.EqualFold(v, "GMT") {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "only the UTC time zone is supported yet")
		}
		s.settings[name] = v
	case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
		s.settings[name] = defaultSettings()[name]
		if name == "search_path" {
			s.searchPath = []string{"public"}
		}
	case pg.VariableSetKind_VAR_RESET_ALL:
		s.settings = defaultSettings()
		s.searchPath = []string{"public"}
	}
	return &Result{Tag: "SET"}, nil
}

func (s *Session) show(name string) (*Result, error) {
	name = lower(name)
	if name == "all" {
		keys := make([]string, 0, len(s.settings))
		for k := range s.settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		lines := make([]string, len(keys))
		for i, k := range keys {
			lines[i] = k + " = " + s.settings[k]
		}
		return textResult(s, "setting", lines, "SHOW"), nil
	}
	v, ok := s.settings[name]
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter \"%s\"", name)
	}
	return textResult(s, name, []string{v}, "SHOW"), nil
}

func (s *Session) transaction(st *pg.TransactionStmt) (*Result, error) {
	switch st.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		return &Result{Tag: "BEGIN"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return &Result{Tag: "COMMIT"}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "transactions beyond BEGIN/COMMIT (each statement commits on its own) are not supported yet")
}
