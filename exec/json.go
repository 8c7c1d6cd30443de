package exec

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func isJSON(t types.T) bool { return t.Kind == types.JSON || t.Kind == types.JSONB }

// castJSON converts a json or jsonb value: between the two, or a jsonb
// scalar to a number or boolean (jsonb '1'::int).
func castJSON(s string, from, to types.T) (types.Datum, error) {
	if isJSON(to) {
		return types.Parse(to, s)
	}
	v, err := types.DecodeJSON(s)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case json.Number:
		if to.IsNumber() {
			return types.Parse(to, types.NormalizeJSONNumber(string(x)))
		}
	case bool:
		if to.Kind == types.Bool {
			return x, nil
		}
	}
	return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot cast %s %s to type %s", from, types.JSONTypeOf(s), to)
}

// JSONOp resolves a json/jsonb operator: -> ->> #> #>> @> <@ ? ?| ?& and
// jsonb || and -. It returns the argument types, the result type and the
// kernel, or ok=false when the operator does not take these types.
func JSONOp(op string, l, r types.T) (args []types.T, ret types.T, k Kernel, ok bool) {
	if !isJSON(l) && !(isJSON(r) && (op == "<@" || op == "||")) {
		return nil, types.T{}, nil, false
	}
	jt := l
	if !isJSON(jt) {
		jt = r
	}
	switch op {
	case "->", "->>":
		ret := jt
		if op == "->>" {
			ret = types.TextT
		}
		byIndex := r.IsInteger()
		rt := types.TextT
		if byIndex {
			rt = types.Int4T
		}
		return []types.T{jt, rt}, ret, rowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
			key, idx := "", 0
			if byIndex {
				idx = int(ds[1].(int64))
			} else {
				key = ds[1].(string)
			}
			m, found := types.JSONMember(ds[0].(string), key, idx, byIndex)
			if !found {
				return nil, nil
			}
			if op == "->>" {
				return types.JSONText(m), nil
			}
			return m, nil
		}), true
	case "#>", "#>>":
		ret := jt
		if op == "#>>" {
			ret = types.TextT
		}
		return []types.T{jt, types.ArrayOf(types.TextT)}, ret, rowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
			cur := ds[0].(string)
			for _, p := range ds[1].([]types.Datum) {
				if p == nil {
					return nil, nil
				}
				key := p.(string)
				idx, err := strconv.Atoi(key)
				byIndex := err == nil && strings.HasPrefix(strings.TrimSpace(cur), "[")
				m, found := types.JSONMember(cur, key, idx, byIndex)
				if !found {
					return nil, nil
				}
				cur = m
			}
			if op == "#>>" {
				return types.JSONText(cur), nil
			}
			return cur, nil
		}), true
	}
	if l.Kind != types.JSONB && !(op == "<@" && r.Kind == types.JSONB) && op != "||" {
		return nil, types.T{}, nil, false // the rest are jsonb's
	}
	switch op {
	case "@>", "<@":
		return []types.T{types.JSONBT, types.JSONBT}, types.BoolT, rowKernel(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
			a, b := ds[0].(string), ds[1].(string)
			if op == "<@" {
				a, b = b, a
			}
			av, err := types.DecodeJSON(a)
			if err != nil {
				return nil, err
			}
			bv, err := types.DecodeJSON(b)
			if err != nil {
				return nil, err
			}
			return jsonContains(av, bv, true), nil
		}), true
	case "?", "?|", "?&":
		rt := types.TextT
		if op != "?" {
			rt = types.ArrayOf(types.TextT)
		}
		return []types.T{types.JSONBT, rt}, types.BoolT, rowKernel(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
			v, err := types.DecodeJSON(ds[0].(string))
			if err != nil {
				return nil, err
			}
			if op == "?" {
				return jsonHasKey(v, ds[1].(string)), nil
			}
			all := op == "?&"
			for _, k := range ds[1].([]types.Datum) {
				if k == nil {
					continue
				}
				if has := jsonHasKey(v, k.(string)); has != all {
					return has, nil
				}
			}
			return all, nil
		}), true
	case "||":
		return []types.T{types.JSONBT, types.JSONBT}, types.JSONBT, rowKernel(types.JSONBT, func(ds []types.Datum) (types.Datum, error) {
			a, err := types.DecodeJSON(ds[0].(string))
			if err != nil {
				return nil, err
			}
			b, err := types.DecodeJSON(ds[1].(string))
			if err != nil {
				return nil, err
			}
			return types.EncodeJSONB(jsonConcat(a, b)), nil
		}), true
	case "-":
		return []types.T{types.JSONBT, types.TextT}, types.JSONBT, rowKernel(types.JSONBT, func(ds []types.Datum) (types.Datum, error) {
			v, err := types.DecodeJSON(ds[0].(string))
			if err != nil {
				return nil, err
			}
			key := ds[1].(string)
			switch x := v.(type) {
			case map[string]any:
				delete(x, key)
			case []any:
				var kept []any
				for _, e := range x {
					if s, ok := e.(string); !ok || s != key {
						kept = append(kept, e)
					}
				}
				v = append([]any{}, kept...)
			default:
				return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot delete from scalar")
			}
			return types.EncodeJSONB(v), nil
		}), true
	}
	return nil, types.T{}, nil, false
}

// jsonContains is jsonb's @>: every member of b is in a, recursively;
// at the top level an array also contains a scalar it holds.
func jsonContains(a, b any, top bool) bool {
	switch bx := b.(type) {
	case map[string]any:
		ax, ok := a.(map[string]any)
		if !ok {
			return false
		}
		for k, bv := range bx {
			av, ok := ax[k]
			if !ok || !jsonContains(av, bv, false) {
				return false
			}
		}
		return true
	case []any:
		ax, ok := a.([]any)
		if !ok {
			return false
		}
		for _, bv := range bx {
			found := false
			for _, av := range ax {
				if jsonContains(av, bv, false) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	if ax, ok := a.([]any); ok && top {
		for _, av := range ax {
			if jsonScalarEqual(av, b) {
				return true
			}
		}
		return false
	}
	return jsonScalarEqual(a, b)
}

func jsonScalarEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, ok1 := new(big.Rat).SetString(string(x))
		ry, ok2 := new(big.Rat).SetString(string(y))
		return ok1 && ok2 && rx.Cmp(ry) == 0
	case map[string]any, []any:
		return false
	}
	return a == b
}

// jsonHasKey is jsonb's ?: a top-level key, or a string element of an
// array.
func jsonHasKey(v any, key string) bool {
	switch x := v.(type) {
	case map[string]any:
		_, ok := x[key]
		return ok
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == key {
				return true
			}
		}
	case string:
		return x == key
	}
	return false
}

// jsonConcat is jsonb's ||: objects merge (the right side wins), anything
// else concatenates as arrays.
func jsonConcat(a, b any) any {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		out := map[string]any{}
		for k, v := range am {
			out[k] = v
		}
		for k, v := range bm {
			out[k] = v
		}
		return out
	}
	asArray := func(v any) []any {
		if x, ok := v.([]any); ok {
			return x
		}
		return []any{v}
	}
	return append(append([]any{}, asArray(a)...), asArray(b)...)
}

// jsonKeyText is an object key's text: a value's text form, except that
// timestamps take their JSON (ISO 8601) form, as in PostgreSQL.
func jsonKeyText(t types.T, d types.Datum, zone *time.Location) string {
	if t.Kind == types.Timestamp || t.Kind == types.TimestampTZ {
		return strings.Trim(ToJSONIn(t, d, zone), `"`)
	}
	return types.FormatIn(t, d, zone)
}

// ToJSONIn renders a value of type t as JSON text (to_json): numbers and
// booleans as themselves, json as is, arrays as arrays, timestamps in ISO
// form (timestamptz in the session's zone), everything else as a string
// of its text form.
func ToJSONIn(t types.T, d types.Datum, zone *time.Location) string {
	var sb strings.Builder
	writeValueJSON(&sb, t, d, zone)
	return sb.String()
}

func writeValueJSON(sb *strings.Builder, t types.T, d types.Datum, zone *time.Location) {
	if d == nil {
		sb.WriteString("null")
		return
	}
	switch {
	case t.Kind == types.JSON || t.Kind == types.JSONB:
		sb.WriteString(d.(string))
	case t.Kind == types.Bool:
		sb.WriteString(strconv.FormatBool(d.(bool)))
	case t.IsNumber():
		s := types.Format(t, d)
		if s == "NaN" || strings.HasSuffix(s, "Infinity") {
			types.WriteJSONString(sb, s)
			return
		}
		sb.WriteString(s)
	case t.Kind == types.Array:
		sb.WriteByte('[')
		for i, e := range d.([]types.Datum) {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeValueJSON(sb, t.ElemT(), e, zone)
		}
		sb.WriteByte(']')
	case t.IsRecord() && t.Record != "":
		writeRecordJSON(sb, t, d.(string), zone)
	case t.Kind == types.Timestamp || t.Kind == types.TimestampTZ:
		s := strings.Replace(types.FormatIn(t, d, zone), " ", "T", 1)
		if t.Kind == types.TimestampTZ && len(s) >= 3 && (s[len(s)-3] == '+' || s[len(s)-3] == '-') {
			s += ":00" // ISO 8601 spells the offset out
		}
		types.WriteJSONString(sb, s)
	default:
		types.WriteJSONString(sb, types.FormatIn(t, d, zone))
	}
}

// jsonFunctions are the json/jsonb scalar functions.
func jsonFunctions() []*ScalarDef {
	typeOf := func(name string, jt types.T) *ScalarDef {
		return sig(name, []types.T{jt}, types.TextT, func(ds []types.Datum) (types.Datum, error) {
			return types.JSONTypeOf(ds[0].(string)), nil
		})
	}
	arrayLength := func(name string, jt types.T) *ScalarDef {
		return sig(name, []types.T{jt}, types.Int4T, func(ds []types.Datum) (types.Datum, error) {
			v, err := types.DecodeJSON(ds[0].(string))
			if err != nil {
				return nil, err
			}
			a, ok := v.([]any)
			if !ok {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot get array length of a non-array")
			}
			return int64(len(a)), nil
		})
	}
	toJSON := func(name string, jt types.T) *ScalarDef {
		return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 1 {
				return nil, types.T{}, nil, NoSuchFunction(name, args)
			}
			t := args[0]
			if t.Kind == types.Unknown {
				t = types.TextT
			}
			return []types.T{t}, jt, zoneKernel(jt, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
				return jsonResult(jt, ToJSONIn(t, ds[0], zone))
			}), nil
		}}
	}
	build := func(name string, jt types.T, object bool) *ScalarDef {
		return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if object && len(args)%2 != 0 {
				return nil, types.T{}, nil, sqlerr.New(sqlerr.InvalidParameter, "argument list must have even number of elements").
					WithHint("The arguments of " + name + "() must consist of alternating keys and values.")
			}
			ts := make([]types.T, len(args))
			for i, t := range args {
				if t.Kind == types.Unknown {
					t = types.TextT
				}
				ts[i] = t
			}
			return ts, jt, func(ec *EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
				zone := ec.Env.TimeZone()
				return rowKernelNullable(jt, func(ds []types.Datum) (types.Datum, error) {
					return buildJSON(jt, object, ts, ds, zone)
				})(ec, arrs, n)
			}, nil
		}}
	}
	return []*ScalarDef{
		typeOf("json_typeof", types.JSONT), typeOf("jsonb_typeof", types.JSONBT),
		arrayLength("json_array_length", types.JSONT), arrayLength("jsonb_array_length", types.JSONBT),
		toJSON("to_json", types.JSONT), toJSON("to_jsonb", types.JSONBT), arrayToJSON(),
		build("json_build_object", types.JSONT, true), build("jsonb_build_object", types.JSONBT, true),
		build("json_build_array", types.JSONT, false), build("jsonb_build_array", types.JSONBT, false),
		overloads("jsonb_set",
			sig("jsonb_set", []types.T{types.JSONBT, types.ArrayOf(types.TextT), types.JSONBT}, types.JSONBT, jsonbSet),
			sig("jsonb_set", []types.T{types.JSONBT, types.ArrayOf(types.TextT), types.JSONBT, types.BoolT}, types.JSONBT, jsonbSet)),
		sig("jsonb_pretty", []types.T{types.JSONBT}, types.TextT, func(ds []types.Datum) (types.Datum, error) {
			var v any
			if err := json.Unmarshal([]byte(ds[0].(string)), &v); err != nil {
				return nil, err
			}
			out, err := json.MarshalIndent(v, "", "    ")
			return string(out), err
		}),
	}
}

// jsonResult is text built as JSON, as the result type wants it (jsonb
// normalized).
func jsonResult(jt types.T, s string) (types.Datum, error) {
	if jt.Kind == types.JSONB {
		return types.NormalizeJSONB(s)
	}
	return s, nil
}

// ---- json_agg, jsonb_agg, json_object_agg, jsonb_object_agg ----

type jsonAggAcc struct {
	jt     types.T
	argTs  []types.T
	object bool
	// structured marks json_agg of arrays or rows: PostgreSQL starts each
	// such value after the first on a new line.
	structured bool
	parts      [][]string
}

func resolveJSONAgg(jt types.T, object bool) func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	return func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
		name := map[bool]string{true: "json_object_agg", false: "json_agg"}[object]
		if jt.Kind == types.JSONB {
			name = strings.Replace(name, "json", "jsonb", 1)
		}
		if object && len(args) != 2 || !object && len(args) != 1 {
			return nil, types.T{}, nil, wrongAggArgs(name, args)
		}
		ts := make([]types.T, len(args))
		for i, t := range args {
			if t.Kind == types.Unknown {
				t = types.TextT
			}
			ts[i] = t
		}
		structured := !object && (ts[0].Kind == types.Array || ts[0].IsRecord())
		return ts, jt, func() Accumulator { return &jsonAggAcc{jt: jt, argTs: ts, object: object, structured: structured} }, nil
	}
}

func (a *jsonAggAcc) Update(ec *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	zone := ec.Env.TimeZone()
	a.parts = grow[[]string](a.parts, ng, nil)
	for i, g := range groups {
		if !a.object {
			a.parts[g] = append(a.parts[g], ToJSONIn(a.argTs[0], DatumAt(args[0], i), zone))
			continue
		}
		k := DatumAt(args[0], i)
		if k == nil {
			return sqlerr.New(sqlerr.InvalidParameter, "field name must not be null")
		}
		var sb strings.Builder
		types.WriteJSONString(&sb, jsonKeyText(a.argTs[0], k, zone))
		sb.WriteString(" : ")
		sb.WriteString(ToJSONIn(a.argTs[1], DatumAt(args[1], i), zone))
		a.parts[g] = append(a.parts[g], sb.String())
	}
	return nil
}

func (a *jsonAggAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.parts = grow[[]string](a.parts, ng, nil)
	for g, ps := range o.(*jsonAggAcc).parts {
		a.parts[mapping[g]] = append(a.parts[mapping[g]], ps...)
	}
}

func (a *jsonAggAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.parts = grow[[]string](a.parts, ng, nil)
	bld := newBuilder(ec, a.jt)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		if len(a.parts[g]) == 0 {
			bld.AppendNull() // no rows: NULL
			continue
		}
		var s string
		if a.object {
			s = "{ " + strings.Join(a.parts[g], ", ") + " }"
		} else {
			s = "[" + strings.Join(a.structuredParts(a.parts[g]), ", ") + "]"
		}
		d, err := jsonResult(a.jt, s)
		if err != nil {
			return nil, err
		}
		AppendDatum(bld, d)
	}
	return bld.NewArray(), nil
}

// structuredParts are a group's elements as json_agg joins them: each
// non-null array or row after the first on a new line, as PostgreSQL's
// json_agg_transfn (the parts are final, so a merge cannot misplace one).
func (a *jsonAggAcc) structuredParts(parts []string) []string {
	if !a.structured || a.jt.Kind != types.JSON {
		return parts
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		if i > 0 && p != "null" {
			p = "\n " + p
		}
		out[i] = p
	}
	return out
}

// jsonElements computes the rows of a set-returning json function over
// one document: array elements, object keys, or keys and values (each
// of which is asked for as its own function, .key or .value). json hands
// members out as written, jsonb in its normal form; the _text variants
// give strings unquoted and JSON null as NULL.
func jsonElements(name, doc string) ([]types.Datum, error) {
	members, keys, isArray, err := types.JSONMembers(doc)
	if err != nil {
		return nil, err
	}
	text := strings.Contains(name, "_text")
	switch {
	case strings.Contains(name, "array_elements"):
		if !isArray {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot extract elements from %s", jsonKindPhrase(doc))
		}
	case isArray || keys == nil:
		what := strings.SplitN(name, ".", 2)[0]
		return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot call %s on %s", what, jsonKindPhrase(doc))
	}
	out := make([]types.Datum, len(members))
	for i, m := range members {
		switch {
		case strings.HasSuffix(name, ".key") || strings.HasSuffix(name, "object_keys"):
			out[i] = keys[i]
		case text:
			out[i] = types.JSONText(m)
		default:
			out[i] = m
		}
	}
	return out, nil
}

func jsonKindPhrase(doc string) string {
	switch k := types.JSONTypeOf(doc); k {
	case "object":
		return "an object"
	case "array":
		return "an array"
	default:
		return "a scalar"
	}
}

// jsonbSet is jsonb_set(target, path, value [, create_missing]): target
// with the member at path replaced by value (added when missing and
// create_missing, the default, allows; only the last step is created).
func jsonbSet(ds []types.Datum) (types.Datum, error) {
	doc, path, val, err := jsonbPathArgs(ds)
	if err != nil {
		return nil, err
	}
	create := len(ds) < 4 || ds[3] == true
	out, err := setPath(doc, path, val, create, 1)
	if err != nil {
		return nil, err
	}
	return types.EncodeJSONB(out), nil
}

// jsonbPathArgs decodes the (target, path, value) arguments jsonb_set
// and jsonb_insert share; a NULL path element is 22004.
func jsonbPathArgs(ds []types.Datum) (doc any, path []string, val any, err error) {
	if doc, err = types.DecodeJSON(ds[0].(string)); err != nil {
		return nil, nil, nil, err
	}
	if val, err = types.DecodeJSON(ds[2].(string)); err != nil {
		return nil, nil, nil, err
	}
	for _, p := range ds[1].([]types.Datum) {
		if p == nil {
			return nil, nil, nil, sqlerr.New(sqlerr.NullValueNotAllowed, "path element at position %d is null", len(path)+1)
		}
		path = append(path, p.(string))
	}
	return doc, path, val, nil
}

func setPath(doc any, path []string, val any, create bool, pos int) (any, error) {
	if len(path) == 0 {
		return val, nil
	}
	switch x := doc.(type) {
	case map[string]any:
		child, ok := x[path[0]]
		if !ok && (len(path) > 1 || !create) {
			return doc, nil
		}
		v, err := setPath(child, path[1:], val, create, pos+1)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(x)+1)
		for k, e := range x {
			out[k] = e
		}
		out[path[0]] = v
		return out, nil
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidText, "path element at position %d is not an integer: \"%s\"", pos, path[0])
		}
		if i < 0 {
			i += len(x)
		}
		out := append([]any{}, x...)
		switch {
		case i >= 0 && i < len(x):
			v, err := setPath(x[i], path[1:], val, create, pos+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		case len(path) == 1 && create && i >= len(x):
			out = append(out, val)
		case len(path) == 1 && create && i < 0:
			out = append([]any{val}, out...)
		}
		return out, nil
	case nil:
		return doc, nil
	}
	return nil, sqlerr.New(sqlerr.InvalidParameter, "cannot set path in scalar")
}

// buildJSON is json[b]_build_array (object false) or json[b]_build_object
// over values ds of types ts.
func buildJSON(jt types.T, object bool, ts []types.T, ds []types.Datum, zone *time.Location) (types.Datum, error) {
	var sb strings.Builder
	if !object {
		sb.WriteByte('[')
	} else {
		sb.WriteByte('{')
	}
	for i, d := range ds {
		if i > 0 {
			sb.WriteString(map[bool]string{true: " : ", false: ", "}[object && i%2 == 1])
		}
		if object && i%2 == 0 {
			if d == nil {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "null value not allowed for object key")
			}
			types.WriteJSONString(&sb, jsonKeyText(ts[i], d, zone))
			continue
		}
		writeValueJSON(&sb, ts[i], d, zone)
	}
	if !object {
		sb.WriteByte(']')
	} else {
		sb.WriteByte('}')
	}
	return jsonResult(jt, sb.String())
}

// VariadicBuildJSONKernel is json[b]_build_array or _object(VARIADIC arr):
// the array's elements (of type elem) are the arguments; a NULL array
// gives NULL.
func VariadicBuildJSONKernel(jt types.T, object bool, name string, elem types.T) Kernel {
	return zoneKernelNullable(jt, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
		if ds[0] == nil {
			return nil, nil
		}
		elems := ds[0].([]types.Datum)
		if object && len(elems)%2 != 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "argument list must have even number of elements").
				WithHint("The arguments of " + name + "() must consist of alternating keys and values.")
		}
		ts := make([]types.T, len(elems))
		for i := range ts {
			ts[i] = elem
		}
		return buildJSON(jt, object, ts, elems, zone)
	})
}

// VariadicCountNullsKernel is num_nulls / num_nonnulls(VARIADIC arr): the
// array's NULL (or other) elements counted; a NULL array gives NULL.
func VariadicCountNullsKernel(nulls bool) Kernel {
	return rowKernelNullable(types.Int4T, func(ds []types.Datum) (types.Datum, error) {
		if ds[0] == nil {
			return nil, nil
		}
		k := int64(0)
		for _, e := range ds[0].([]types.Datum) {
			if (e == nil) == nulls {
				k++
			}
		}
		return k, nil
	})
}
