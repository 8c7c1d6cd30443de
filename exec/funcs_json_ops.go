package exec

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// jsonOperatorFunctions are the functions PostgreSQL defines behind its
// json operators, callable by name: json[b]_extract_path[_text] (#> and #>>
// with the path as variadic text arguments), jsonb_contains and
// jsonb_contained (@> and <@), jsonb_exists, jsonb_exists_any and
// jsonb_exists_all (?, ?| and ?&), jsonb_delete (-), json_strip_nulls, and
// json_object / jsonb_object from text arrays, and jsonb_insert.
func jsonOperatorFunctions() []*ScalarDef {
	return []*ScalarDef{
		extractPathFunc("json_extract_path", types.JSONT, "#>"),
		extractPathFunc("json_extract_path_text", types.JSONT, "#>>"),
		extractPathFunc("jsonb_extract_path", types.JSONBT, "#>"),
		extractPathFunc("jsonb_extract_path_text", types.JSONBT, "#>>"),
		operatorFunc("jsonb_contains", "@>", types.JSONBT, types.JSONBT),
		operatorFunc("jsonb_contained", "<@", types.JSONBT, types.JSONBT),
		operatorFunc("jsonb_exists", "?", types.JSONBT, types.TextT),
		operatorFunc("jsonb_exists_any", "?|", types.JSONBT, types.ArrayOf(types.TextT)),
		operatorFunc("jsonb_exists_all", "?&", types.JSONBT, types.ArrayOf(types.TextT)),
		operatorFunc("jsonb_delete", "-", types.JSONBT, types.TextT),
		sig("json_strip_nulls", []types.T{types.JSONT}, types.JSONT, func(ds []types.Datum) (types.Datum, error) {
			return stripJSONNulls(ds[0].(string))
		}),
		jsonObjectFunc("json_object", types.JSONT),
		jsonObjectFunc("jsonb_object", types.JSONBT),
		jsonbInsertFunc(),
	}
}

// jsonObjectFunc is json_object / jsonb_object over text arrays: (keys and
// values alternating) or (keys, values). Values are JSON strings, NULL is
// null; a NULL key, an odd count or arrays of different lengths are errors.
func jsonObjectFunc(name string, jt types.T) *ScalarDef {
	ta := types.ArrayOf(types.TextT)
	build := func(keys, vals []types.Datum) (types.Datum, error) {
		var sb strings.Builder
		members := map[string]any{}
		sb.WriteByte('{')
		for i, k := range keys {
			if k == nil {
				return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "null value not allowed for object key")
			}
			var v any
			if vals[i] != nil {
				v = vals[i].(string)
			}
			members[k.(string)] = v // jsonb keeps the last of a repeated key
			if i > 0 {
				sb.WriteString(", ")
			}
			writeJSONScalar(&sb, k.(string))
			sb.WriteString(" : ")
			writeJSONScalar(&sb, v)
		}
		sb.WriteByte('}')
		if jt.Kind == types.JSONB {
			return types.EncodeJSONB(members), nil
		}
		return sb.String(), nil
	}
	return overloads(name,
		sig(name, []types.T{ta}, jt, func(ds []types.Datum) (types.Datum, error) {
			pairs := ds[0].([]types.Datum)
			if len(pairs)%2 != 0 {
				return nil, sqlerr.New(sqlerr.ArraySubscriptError, "array must have even number of elements")
			}
			var keys, vals []types.Datum
			for i := 0; i < len(pairs); i += 2 {
				keys, vals = append(keys, pairs[i]), append(vals, pairs[i+1])
			}
			return build(keys, vals)
		}),
		sig(name, []types.T{ta, ta}, jt, func(ds []types.Datum) (types.Datum, error) {
			keys, vals := ds[0].([]types.Datum), ds[1].([]types.Datum)
			if len(keys) != len(vals) {
				return nil, sqlerr.New(sqlerr.ArraySubscriptError, "mismatched array dimensions")
			}
			return build(keys, vals)
		}))
}

// operatorFunc is a two-argument function computed by a json operator's
// kernel (the operator resolved for the function's declared types).
func operatorFunc(name, op string, left, right types.T) *ScalarDef {
	return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != 2 || !castableAll(args, []types.T{left, right}) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		want, ret, k, ok := JSONOp(op, left, right)
		if !ok {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return want, ret, k, nil
	}}
}

// extractPathFunc is json[b]_extract_path[_text](from, VARIADIC path): the
// operator op (#> or #>>) with the text arguments gathered into its path
// array. A NULL path element gives NULL, as the operator does.
func extractPathFunc(name string, jt types.T, op string) *ScalarDef {
	return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) < 2 || !ImplicitCast(args[0], jt) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		want := []types.T{jt}
		for _, a := range args[1:] {
			if !ImplicitCast(a, types.TextT) {
				return nil, types.T{}, nil, NoSuchFunction(name, args)
			}
			want = append(want, types.TextT)
		}
		_, ret, pathKernel, ok := JSONOp(op, jt, types.ArrayOf(types.TextT))
		if !ok {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return want, ret, func(ec *EvalContext, cols []arrow.Array, n int) (arrow.Array, error) {
			path, err := gatherTextArray(ec, cols[1:], n)
			if err != nil {
				return nil, err
			}
			defer path.Release()
			return pathKernel(ec, []arrow.Array{cols[0], path}, n)
		}, nil
	}}
}

// gatherTextArray builds, row by row, a text[] of the values of cols.
func gatherTextArray(ec *EvalContext, cols []arrow.Array, n int) (arrow.Array, error) {
	at := types.ArrayOf(types.TextT)
	k := rowKernelNullable(at, func(ds []types.Datum) (types.Datum, error) {
		return append([]types.Datum(nil), ds...), nil
	})
	return k(ec, cols, n)
}

// stripJSONNulls is json_strip_nulls on json text: the value again, compact,
// without the object fields whose value is null (array nulls stay), keeping
// the fields' order and repeated keys as json does.
func stripJSONNulls(s string) (types.Datum, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var sb strings.Builder
	if err := copyStrippingNulls(dec, &sb); err != nil {
		return nil, sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type json")
	}
	return sb.String(), nil
}

// copyStrippingNulls copies one value from dec to sb.
func copyStrippingNulls(dec *json.Decoder, sb *strings.Builder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return copyObjectStrippingNulls(dec, sb)
		case '[':
			sb.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					sb.WriteByte(',')
				}
				if err := copyStrippingNulls(dec, sb); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ]
			sb.WriteByte(']')
			return err
		}
	default:
		writeJSONScalar(sb, t)
	}
	return nil
}

func copyObjectStrippingNulls(dec *json.Decoder, sb *strings.Builder) error {
	sb.WriteByte('{')
	first := true
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := keyTok.(string)
		// a null value is one token: look at the raw value first
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if string(raw) == "null" {
			continue
		}
		if !first {
			sb.WriteByte(',')
		}
		first = false
		writeJSONScalar(sb, key)
		sb.WriteByte(':')
		inner := json.NewDecoder(strings.NewReader(string(raw)))
		inner.UseNumber()
		if err := copyStrippingNulls(inner, sb); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	sb.WriteByte('}')
	return err
}

// writeJSONScalar writes a string, number, boolean or null token as JSON.
func writeJSONScalar(sb *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		sb.WriteString("null")
	case json.Number:
		sb.WriteString(string(x))
	default:
		sb.WriteString(types.EncodeJSONB(x))
	}
}

// jsonbInsertFunc is jsonb_insert(target, path, new_value [, insert_after]):
// new_value goes into the array or object the path's last element names
// (before that array position, or after it with insert_after; a new key
// of an object, never a replaced one). A path that leads nowhere leaves
// target as it is.
func jsonbInsertFunc() *ScalarDef {
	jb, path := types.JSONBT, types.ArrayOf(types.TextT)
	return overloads("jsonb_insert",
		sig("jsonb_insert", []types.T{jb, path, jb}, jb, jsonbInsert),
		sig("jsonb_insert", []types.T{jb, path, jb, types.BoolT}, jb, jsonbInsert))
}

func jsonbInsert(ds []types.Datum) (types.Datum, error) {
	doc, path, val, err := jsonbPathArgs(ds)
	if err != nil {
		return nil, err
	}
	after := len(ds) > 3 && ds[3] == true
	if len(path) == 0 {
		return ds[0], nil
	}
	switch doc.(type) {
	case map[string]any, []any:
	default:
		return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot set path in scalar")
	}
	out, err := insertPath(doc, path, val, after, 1)
	if err != nil {
		return nil, err
	}
	return types.EncodeJSONB(out), nil
}

// insertPath walks path in doc and inserts val at its end (see jsonbInsertFunc).
func insertPath(doc any, path []string, val any, after bool, pos int) (any, error) {
	switch x := doc.(type) {
	case map[string]any:
		child, ok := x[path[0]]
		if len(path) == 1 {
			if ok {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot replace existing key").
					WithHint("Try using the function jsonb_set to replace key value.")
			}
		} else if !ok {
			return doc, nil
		}
		out := make(map[string]any, len(x)+1)
		for k, e := range x {
			out[k] = e
		}
		if len(path) == 1 {
			out[path[0]] = val
			return out, nil
		}
		v, err := insertPath(child, path[1:], val, after, pos+1)
		if err != nil {
			return nil, err
		}
		out[path[0]] = v
		return out, nil
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidText, "path element at position %d is not an integer: \"%s\"", pos, path[0])
		}
		if len(path) > 1 {
			if i < 0 {
				i += len(x)
			}
			if i < 0 || i >= len(x) {
				return doc, nil
			}
			v, err := insertPath(x[i], path[1:], val, after, pos+1)
			if err != nil {
				return nil, err
			}
			out := append([]any{}, x...)
			out[i] = v
			return out, nil
		}
		at := arrayInsertPosition(i, len(x), after)
		out := make([]any, 0, len(x)+1)
		out = append(append(append(out, x[:at]...), val), x[at:]...)
		return out, nil
	}
	return doc, nil // a scalar inside: nothing to insert into
}

// arrayInsertPosition is where jsonb_insert puts a new element of an array
// of n elements for path index i: before element i (after it with after),
// a negative i counting from the end, clamped to the array's ends.
func arrayInsertPosition(i, n int, after bool) int {
	if i < 0 {
		if -i > n {
			return 0
		}
		i += n
	}
	if after {
		i++
	}
	return min(max(i, 0), n)
}
