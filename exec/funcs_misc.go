package exec

import (
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// miscFunctions are smaller PostgreSQL built-ins: hashes of bytea, bit
// lengths, factorial, quote_nullable, date_bin and jsonb_strip_nulls.
func miscFunctions() []*ScalarDef {
	bytea := []types.T{types.ByteaT}
	return []*ScalarDef{
		sig("sha224", bytea, types.ByteaT, func(ds []types.Datum) (types.Datum, error) { h := sha256.Sum224(ds[0].([]byte)); return h[:], nil }),
		sig("sha256", bytea, types.ByteaT, func(ds []types.Datum) (types.Datum, error) { h := sha256.Sum256(ds[0].([]byte)); return h[:], nil }),
		sig("sha384", bytea, types.ByteaT, func(ds []types.Datum) (types.Datum, error) { h := sha512.Sum384(ds[0].([]byte)); return h[:], nil }),
		sig("sha512", bytea, types.ByteaT, func(ds []types.Datum) (types.Datum, error) { h := sha512.Sum512(ds[0].([]byte)); return h[:], nil }),
		overloads("bit_length",
			sig("bit_length", []types.T{textT}, int4T, func(ds []types.Datum) (types.Datum, error) { return int64(len(ds[0].(string)) * 8), nil }),
			sig("bit_length", bytea, int4T, func(ds []types.Datum) (types.Datum, error) { return int64(len(ds[0].([]byte)) * 8), nil })),
		sig("factorial", []types.T{types.Int8T}, types.NumericT(0, 0), factorial),
		{Name: "quote_nullable", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			// quote_nullable(anyelement) quotes the value's text form
			if len(args) != 1 {
				return nil, types.T{}, nil, NoSuchFunction("quote_nullable", args)
			}
			t := args[0]
			if t.Kind == types.Unknown {
				t = textT
			}
			return []types.T{t}, textT, func(ec *EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
				zone := ec.Env.TimeZone()
				return rowKernelNullable(textT, func(ds []types.Datum) (types.Datum, error) {
					switch v := ds[0].(type) {
					case nil:
						return "NULL", nil
					case bool: // bool's text is true/false, not the t/f it prints
						return quoteLiteral(strconv.FormatBool(v)), nil
					}
					return quoteLiteral(types.FormatIn(t, ds[0], zone)), nil
				})(ec, in, n)
			}, nil
		}},
		overloads("date_bin",
			sig("date_bin", []types.T{types.IntervalT, types.TimestampT, types.TimestampT}, types.TimestampT, dateBin),
			sig("date_bin", []types.T{types.IntervalT, types.TimestampTZT, types.TimestampTZT}, types.TimestampTZT, dateBin)),
		overloads("similar_to_escape",
			sig("similar_to_escape", []types.T{textT}, textT, func(ds []types.Datum) (types.Datum, error) {
				return similarToRegex(ds[0].(string), `\`)
			}),
			sig("similar_to_escape", []types.T{textT, textT}, textT, func(ds []types.Datum) (types.Datum, error) {
				return similarToRegex(ds[0].(string), ds[1].(string))
			})),
		sig("jsonb_strip_nulls", []types.T{types.JSONBT}, types.JSONBT, func(ds []types.Datum) (types.Datum, error) {
			doc, err := types.DecodeJSON(ds[0].(string))
			if err != nil {
				return nil, err
			}
			return types.EncodeJSONB(stripNullFields(doc)), nil
		}),
	}
}

// factorial is n! as numeric; PostgreSQL refuses negative n.
func factorial(ds []types.Datum) (types.Datum, error) {
	n := ds[0].(int64)
	if n < 0 {
		return nil, sqlerr.New(sqlerr.NumericOutOfRange, "factorial of a negative number is undefined")
	}
	if n > 40 { // past numeric's 38 digits long before: do not compute a huge number to refuse it
		return nil, sqlerr.New(sqlerr.NumericOutOfRange, "value overflows numeric format")
	}
	f := new(big.Int).MulRange(1, max(n, 1))
	return types.RatToNumeric(new(big.Rat).SetInt(f), types.NumericT(0, 0))
}

// quoteLiteral quotes s as a string literal, E'…' when it holds a
// backslash, as PostgreSQL's quote_literal does.
func quoteLiteral(s string) string {
	quoted := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		return "E" + strings.ReplaceAll(quoted, `\`, `\\`)
	}
	return quoted
}

// dateBin is date_bin(stride, source, origin): the start of the bin of
// width stride (aligned on origin) that holds source.
func dateBin(ds []types.Datum) (types.Datum, error) {
	stride := ds[0].(types.IntervalValue)
	if stride.Months != 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "timestamps cannot be binned into intervals containing months or years")
	}
	width := int64(stride.Days)*types.MicrosPerDay + stride.Micros
	if width <= 0 {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "stride must be greater than zero")
	}
	source, origin := ds[1].(int64), ds[2].(int64)
	if !types.TimestampIsFinite(source) {
		return source, nil
	}
	if !types.TimestampIsFinite(origin) {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "origin out of range")
	}
	diff := source - origin
	delta := diff - diff%width
	if diff < 0 && diff%width != 0 {
		delta -= width
	}
	return origin + delta, nil
}

// stripNullFields drops object fields whose value is null, at every depth
// (array elements that are null stay).
func stripNullFields(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, field := range x {
			if field == nil {
				delete(x, k)
				continue
			}
			x[k] = stripNullFields(field)
		}
	case []any:
		for i, e := range x {
			x[i] = stripNullFields(e)
		}
	}
	return v
}

// similarToRegex is PostgreSQL's similar_to_escape: a SQL regular
// expression (SIMILAR TO's pattern) as a POSIX one matching the whole
// string: % and _ become .* and ., groups do not capture, the regex
// characters SQL leaves literal are escaped, and the escape character
// makes the next character literal.
func similarToRegex(pattern, escape string) (types.Datum, error) {
	var esc rune = -1
	switch utf8.RuneCountInString(escape) {
	case 0:
	case 1:
		esc, _ = utf8.DecodeRuneInString(escape)
	default:
		return nil, sqlerr.New(sqlerr.InvalidEscapeSequence, "invalid escape string").
			WithHint("Escape string must be empty or one character.")
	}
	var sb strings.Builder
	sb.WriteString("^(?:")
	afterEscape, inClass, quotes := false, false, 0
	for _, c := range pattern {
		switch {
		case afterEscape:
			afterEscape = false
			if c != '"' || inClass {
				sb.WriteByte('\\')
				sb.WriteRune(c)
				continue
			}
			// escape-double-quote separates SUBSTRING's three parts
			switch quotes {
			case 0:
				sb.WriteString("){1,1}?(")
			case 1:
				sb.WriteString("){1,1}(?:")
			default:
				return nil, sqlerr.New(sqlerr.InvalidUseOfEscapeCharacter, "SQL regular expression may not contain more than two escape-double-quote separators")
			}
			quotes++
		case c == esc:
			afterEscape = true
		case inClass:
			if c == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteRune(c)
			inClass = c != ']'
		case c == '[':
			sb.WriteRune(c)
			inClass = true
		case c == '%':
			sb.WriteString(".*")
		case c == '_':
			sb.WriteByte('.')
		case c == '(':
			sb.WriteString("(?:")
		case c == '\\' || c == '.' || c == '^' || c == '$':
			sb.WriteByte('\\')
			sb.WriteRune(c)
		default:
			sb.WriteRune(c)
		}
	}
	sb.WriteString(")$")
	return sb.String(), nil
}
