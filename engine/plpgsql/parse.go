package plpgsql

import (
	"encoding/json"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

// The JSON pg_query prints for a PL/pgSQL function: each node is an
// object with one key naming its type.

type jsNode map[string]json.RawMessage

type jsExpr struct {
	Expr *struct {
		Query     string `json:"query"`
		ParseMode int    `json:"parseMode"`
	} `json:"PLpgSQL_expr"`
}

type jsType struct {
	Type struct {
		Name string `json:"typname"`
	} `json:"PLpgSQL_type"`
}

// jsDatum is a variable, record, row or record field as declared.
type jsDatum struct {
	RefName  string  `json:"refname"`
	Line     int     `json:"lineno"`
	DataType *jsType `json:"datatype"`
	IsConst  bool    `json:"isconst"`
	NotNull  bool    `json:"notnull"`
	Default  *jsExpr `json:"default_val"`
	DNo      *int    `json:"dno"`
	// a record's field
	FieldName string `json:"fieldname"`
	Parent    int    `json:"recparentno"`
	// a row of variables (SELECT … INTO a, b)
	Fields []struct {
		Name  string `json:"name"`
		VarNo int    `json:"varno"`
	} `json:"fields"`
}

type jsFunction struct {
	Function struct {
		Datums []jsNode `json:"datums"`
		Action struct {
			Block json.RawMessage `json:"PLpgSQL_stmt_block"`
		} `json:"action"`
	} `json:"PLpgSQL_function"`
}

// parseBody runs PostgreSQL's PL/pgSQL parser over a function whose
// header is given as SQL (CREATE FUNCTION … AS $tag$ … $tag$): a syntax
// error is 42601, as PostgreSQL reports it at CREATE.
func parseBody(header, body string) (*jsFunction, error) {
	tag := "$weft_pl$"
	for strings.Contains(body, tag) {
		tag = "$weft_pl" + tag[1:]
	}
	out, err := pg.ParsePlPgSqlToJSON(header + " AS " + tag + body + tag)
	if err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), "error: "))
		if strings.Contains(msg, "is declared CONSTANT") {
			return nil, sqlerr.New("22005", "%s", msg) // PostgreSQL's ERRCODE_ERROR_IN_ASSIGNMENT
		}
		if strings.HasPrefix(msg, "unrecognized exception condition") {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "%s", msg)
		}
		return nil, sqlerr.New(sqlerr.SyntaxError, "%s", msg)
	}
	var fns []jsFunction
	if err := json.Unmarshal([]byte(out), &fns); err != nil || len(fns) != 1 {
		return nil, sqlerr.New(sqlerr.Internal, "reading the PL/pgSQL parse: %v", err)
	}
	return &fns[0], nil
}

// datumOf reads a datum node: its kind ("var", "rec", "row", "recfield")
// and fields.
func datumOf(n jsNode) (string, jsDatum, error) {
	for k, raw := range n {
		var d jsDatum
		if err := json.Unmarshal(raw, &d); err != nil {
			return "", d, err
		}
		return strings.ToLower(strings.TrimPrefix(k, "PLpgSQL_")), d, nil
	}
	return "", jsDatum{}, sqlerr.New(sqlerr.Internal, "empty PL/pgSQL datum")
}

// kindOf is a statement node's kind without its prefix ("assign", "if").
func kindOf(n jsNode) (string, json.RawMessage) {
	for k, raw := range n {
		return strings.TrimPrefix(k, "PLpgSQL_stmt_"), raw
	}
	return "", nil
}
