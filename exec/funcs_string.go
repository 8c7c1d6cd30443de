package exec

import (
	"crypto/md5"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func randFloat() float64 { return rand.Float64() }

var (
	textT = types.TextT
	int4T = types.Int4T
)

func s1(name string, f func(string) types.Datum, ret types.T) *ScalarDef {
	return sig(name, []types.T{textT}, ret, func(ds []types.Datum) (types.Datum, error) { return f(ds[0].(string)), nil })
}

func stringFunctions() []*ScalarDef {
	return []*ScalarDef{
		overloads("length",
			vecSig("length", []types.T{textT}, int4T, charLength, charLengthKernel),
			sig("length", []types.T{types.ByteaT}, int4T, byteLength)),
		vecSig("char_length", []types.T{textT}, int4T, charLength, charLengthKernel),
		vecSig("character_length", []types.T{textT}, int4T, charLength, charLengthKernel),
		overloads("octet_length",
			// char(n) counts its padding, as PostgreSQL's bpcharoctetlen
			sig("octet_length", []types.T{{Kind: types.Char}}, int4T, func(ds []types.Datum) (types.Datum, error) {
				return int64(len(ds[0].(string))), nil
			}),
			s1("octet_length", func(s string) types.Datum { return int64(len(s)) }, int4T),
			sig("octet_length", []types.T{types.ByteaT}, int4T, byteLength)),
		vecSig("lower", []types.T{textT}, textT, func(ds []types.Datum) (types.Datum, error) { return strings.ToLower(ds[0].(string)), nil }, mapText(asciiLower)),
		vecSig("upper", []types.T{textT}, textT, func(ds []types.Datum) (types.Datum, error) { return strings.ToUpper(ds[0].(string)), nil }, mapText(asciiUpper)),
		s1("reverse", func(s string) types.Datum {
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r)
		}, textT),
		s1("initcap", initcap, textT),
		s1("md5", func(s string) types.Datum { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }, textT),
		s1("ascii", func(s string) types.Datum {
			if s == "" {
				return int64(0)
			}
			r, _ := utf8.DecodeRuneInString(s)
			return int64(r)
		}, int4T),
		sig("chr", []types.T{int4T}, textT, func(ds []types.Datum) (types.Datum, error) {
			return string(rune(ds[0].(int64))), nil
		}),
		overloads("substr",
			vecSig("substr", []types.T{textT, int4T, int4T}, textT, substr, substrKernel),
			vecSig("substr", []types.T{textT, int4T}, textT, substr, substrKernel)),
		overloads("substring",
			// SUBSTRING(s FROM pattern) and SUBSTRING(s SIMILAR p ESCAPE e)
			// before the integer forms: an untyped pattern is text, as in
			// PostgreSQL
			regexSubstringDef(2),
			regexSubstringDef(3),
			vecSig("substring", []types.T{textT, int4T, int4T}, textT, substr, substrKernel),
			vecSig("substring", []types.T{textT, int4T}, textT, substr, substrKernel)),
		sig("strpos", []types.T{textT, textT}, int4T, position),
		// The grammar turns position(needle IN haystack) into
		// position(haystack, needle), the same order as strpos.
		sig("position", []types.T{textT, textT}, int4T, position),
		sig("translate", []types.T{textT, textT, textT}, textT, translate),
		unistrFunction(),
		sig("to_hex", []types.T{types.Int8T}, textT, func(ds []types.Datum) (types.Datum, error) {
			return strconv.FormatUint(uint64(ds[0].(int64)), 16), nil
		}),
		overloads("regexp_replace",
			&ScalarDef{Name: "regexp_replace", Resolve: regexResolve("regexp_replace", textT, []types.T{textT, textT, textT, textT}, 3, regexpReplace)},
			&ScalarDef{Name: "regexp_replace", Resolve: regexResolve("regexp_replace", textT, []types.T{textT, textT, textT, int4T, int4T, textT}, 4, regexpReplaceFrom)}),
		sig("replace", []types.T{textT, textT, textT}, textT, func(ds []types.Datum) (types.Datum, error) {
			return strings.ReplaceAll(ds[0].(string), ds[1].(string), ds[2].(string)), nil
		}),
		trimDef("btrim", true, true), trimDef("trim", true, true),
		trimDef("ltrim", true, false), trimDef("rtrim", false, true),
		{Name: "concat", Resolve: resolveConcat("concat", false)},
		{Name: "concat_ws", Resolve: resolveConcat("concat_ws", true)},
		sig("quote_ident", []types.T{textT}, textT, func(ds []types.Datum) (types.Datum, error) {
			return quoteIdentIfNeeded(ds[0].(string)), nil
		}),
		sig("quote_literal", []types.T{textT}, textT, func(ds []types.Datum) (types.Datum, error) {
			return quoteLiteral(ds[0].(string)), nil
		}),
		{Name: "format", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) == 0 {
				return nil, types.T{}, nil, NoSuchFunction("format", args)
			}
			at := make([]types.T, len(args))
			for i := range at {
				at[i] = textT
			}
			return at, textT, rowKernelNullable(textT, formatText), nil
		}},
		sig("split_part", []types.T{textT, textT, int4T}, textT, splitPart),
		sig("array_upper", []types.T{textT, int4T}, int4T, arrayBound(true)),
		sig("array_lower", []types.T{textT, int4T}, int4T, arrayBound(false)),
		sig("array_length", []types.T{textT, int4T}, int4T, func(ds []types.Datum) (types.Datum, error) {
			elems, err := ParseTextArray(ds[0].(string))
			if err != nil || ds[1].(int64) != 1 || len(elems) == 0 {
				return nil, err
			}
			return int64(len(elems)), nil
		}),
		sig("cardinality", []types.T{textT}, int4T, func(ds []types.Datum) (types.Datum, error) {
			elems, err := ParseTextArray(ds[0].(string))
			return int64(len(elems)), err
		}),
		overloads("array_to_string",
			sig("array_to_string", []types.T{textT, textT}, textT, arrayToString),
			sig("array_to_string", []types.T{textT, textT, textT}, textT, arrayToString)),
		sig("left", []types.T{textT, int4T}, textT, func(ds []types.Datum) (types.Datum, error) {
			r := []rune(ds[0].(string))
			n := int(ds[1].(int64))
			if n < 0 {
				n = max(0, len(r)+n)
			}
			return string(r[:min(n, len(r))]), nil
		}),
		sig("right", []types.T{textT, int4T}, textT, func(ds []types.Datum) (types.Datum, error) {
			r := []rune(ds[0].(string))
			n := int(ds[1].(int64))
			if n < 0 {
				n = max(0, len(r)+n)
			}
			n = min(n, len(r))
			return string(r[len(r)-n:]), nil
		}),
		overloads("lpad", sig("lpad", []types.T{textT, int4T, textT}, textT, pad(true)), sig("lpad", []types.T{textT, int4T}, textT, pad(true))),
		overloads("rpad", sig("rpad", []types.T{textT, int4T, textT}, textT, pad(false)), sig("rpad", []types.T{textT, int4T}, textT, pad(false))),
		sig("repeat", []types.T{textT, int4T}, textT, func(ds []types.Datum) (types.Datum, error) {
			n := int(ds[1].(int64))
			if n <= 0 {
				return "", nil
			}
			if n > maxAllocSize || len(ds[0].(string)) > maxAllocSize {
				return nil, checkRequestedLength(-1)
			}
			if err := checkRequestedLength(n * len(ds[0].(string))); err != nil {
				return nil, err
			}
			return strings.Repeat(ds[0].(string), n), nil
		}),
		sig("like_escape", []types.T{textT, textT}, textT, likeEscape),
		sig("starts_with", []types.T{textT, textT}, types.BoolT, func(ds []types.Datum) (types.Datum, error) {
			return strings.HasPrefix(ds[0].(string), ds[1].(string)), nil
		}),
	}
}

func charLength(ds []types.Datum) (types.Datum, error) {
	return int64(utf8.RuneCountInString(ds[0].(string))), nil
}

func initcap(s string) types.Datum {
	out := []rune(strings.ToLower(s))
	start := true
	for i, r := range out {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start {
				out[i] = unicode.ToUpper(r)
			}
			start = false
		} else {
			start = true
		}
	}
	return string(out)
}

// substrBounds are the 0-based bounds [lo, hi) of substr(x, start [,
// count]) (ds) over a value of length units: start counts from 1 and may
// be before the value, which shortens the count; a negative count is an
// error.
func substrBounds(length int, ds []types.Datum) (lo, hi int, err error) {
	start := ds[1].(int64)
	end := int64(length) + 1
	if len(ds) == 3 {
		n := ds[2].(int64)
		if n < 0 {
			return 0, 0, sqlerr.New(sqlerr.SubstringError, "negative substring length not allowed")
		}
		end = start + n
	}
	start = max(start, 1)
	end = min(end, int64(length)+1)
	if end <= start {
		return 0, 0, nil
	}
	return int(start - 1), int(end - 1), nil
}

// substr follows PostgreSQL: 1-based start, which may be before the string.
func substr(ds []types.Datum) (types.Datum, error) {
	r := []rune(ds[0].(string))
	lo, hi, err := substrBounds(len(r), ds)
	if err != nil {
		return nil, err
	}
	return string(r[lo:hi]), nil
}

func position(ds []types.Datum) (types.Datum, error) {
	s, sub := ds[0].(string), ds[1].(string)
	i := strings.Index(s, sub)
	if i < 0 {
		return int64(0), nil
	}
	return int64(utf8.RuneCountInString(s[:i]) + 1), nil
}

func trimDef(name string, left, right bool) *ScalarDef {
	f := func(ds []types.Datum) (types.Datum, error) {
		s, cut := ds[0].(string), " "
		if len(ds) > 1 {
			cut = ds[1].(string)
		}
		if left {
			s = strings.TrimLeft(s, cut)
		}
		if right {
			s = strings.TrimRight(s, cut)
		}
		return s, nil
	}
	return overloads(name, sig(name, []types.T{textT}, textT, f), sig(name, []types.T{textT, textT}, textT, f))
}

func resolveConcat(name string, withSep bool) func(args []types.T) ([]types.T, types.T, Kernel, error) {
	return func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) == 0 || (withSep && len(args) < 1) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		at := make([]types.T, len(args))
		for i := range at {
			at[i] = textT
		}
		return at, textT, rowKernelNullable(textT, func(ds []types.Datum) (types.Datum, error) {
			sep := ""
			vals := ds
			if withSep {
				if ds[0] == nil {
					return nil, nil
				}
				sep, vals = ds[0].(string), ds[1:]
			}
			var parts []string
			var buf stringBuffer
			for _, d := range vals {
				if d != nil {
					if len(parts) > 0 {
						if err := buf.grow(len(sep)); err != nil {
							return nil, err
						}
					}
					if err := buf.grow(len(d.(string))); err != nil {
						return nil, err
					}
					parts = append(parts, d.(string))
				}
			}
			return strings.Join(parts, sep), nil
		}), nil
	}
}

func splitPart(ds []types.Datum) (types.Datum, error) {
	s, sep, n := ds[0].(string), ds[1].(string), ds[2].(int64)
	if n == 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "field position must not be zero")
	}
	var parts []string
	if sep == "" {
		parts = []string{s}
	} else {
		parts = strings.Split(s, sep)
	}
	if n < 0 {
		n = int64(len(parts)) + n + 1
	}
	if n < 1 || n > int64(len(parts)) {
		return "", nil
	}
	return parts[n-1], nil
}

func pad(left bool) func(ds []types.Datum) (types.Datum, error) {
	return func(ds []types.Datum) (types.Datum, error) {
		r := []rune(ds[0].(string))
		n := int(ds[1].(int64))
		fill := " "
		if len(ds) > 2 {
			fill = ds[2].(string)
		}
		if n <= len(r) {
			return string(r[:max(n, 0)]), nil
		}
		if fill == "" {
			return string(r), nil
		}
		// PostgreSQL reserves the widest encoding of every character
		// (4 bytes in UTF8) before it pads
		if err := checkRequestedLength(4 * n); err != nil {
			return nil, err
		}
		fr := []rune(fill)
		padding := make([]rune, 0, n-len(r))
		for i := 0; len(padding) < n-len(r); i++ {
			padding = append(padding, fr[i%len(fr)])
		}
		if left {
			return string(padding) + string(r), nil
		}
		return string(r) + string(padding), nil
	}
}

// RegexKernel implements ~, ~*, !~ and !~*.
func RegexKernel(ci, negate bool) Kernel {
	cache := &regexCache{}
	return rowKernel(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
		cr, err := cache.get(ds[1].(string), regexFlags{ignoreCase: ci, matchOnly: true})
		if err != nil {
			return nil, err
		}
		return cr.re.MatchString(ds[0].(string)) != negate, nil
	})
}

// ConcatKernel implements ||, which is NULL if either side is NULL.
// BoolOutKernel prints a boolean as its output function does: t or f.
func BoolOutKernel() Kernel {
	return rowKernel(textT, func(ds []types.Datum) (types.Datum, error) {
		return types.Format(types.BoolT, ds[0]), nil
	})
}

// ByteaConcatKernel is bytea || bytea.
func ByteaConcatKernel() Kernel {
	return rowKernel(types.ByteaT, func(ds []types.Datum) (types.Datum, error) {
		a, b := ds[0].([]byte), ds[1].([]byte)
		return append(append(make([]byte, 0, len(a)+len(b)), a...), b...), nil
	})
}

func ConcatKernel() Kernel {
	return concatTextKernel(rowKernel(textT, func(ds []types.Datum) (types.Datum, error) {
		if err := checkConcatLength(len(ds[0].(string)), len(ds[1].(string))); err != nil {
			return nil, err
		}
		return ds[0].(string) + ds[1].(string), nil
	}))
}

// translate replaces each character of from found in s by the character at
// the same place in to, deleting it when to is shorter.
func translate(ds []types.Datum) (types.Datum, error) {
	from, to := []rune(ds[1].(string)), []rune(ds[2].(string))
	var sb strings.Builder
	for _, r := range ds[0].(string) {
		i := slices.Index(from, r)
		switch {
		case i < 0:
			sb.WriteRune(r)
		case i < len(to):
			sb.WriteRune(to[i])
		}
	}
	return sb.String(), nil
}

// regexpReplace implements regexp_replace(source, pattern, replacement
// [, flags]): the first match, or every one under flag g, replaced; in
// the replacement \1…\9 stand for capture groups and \& for the match.
func regexpReplace(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	f, err := regexFlagsArg(ds, 3, "regexp_replace", true)
	if err != nil {
		return nil, err
	}
	n := int64(1)
	if f.global {
		n = 0
	}
	return replaceMatches(cache, ds[0].(string), ds[1].(string), ds[2].(string), 1, n, f)
}

// regexpReplaceFrom is regexp_replace(source, pattern, replacement,
// start [, n [, flags]]): the search begins at character start and
// replaces the nth match (every one for n = 0, and without n, as flag g
// says).
func regexpReplaceFrom(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	start := ds[3].(int64)
	if start <= 0 {
		return nil, badRegexParam("start", start)
	}
	f, err := regexFlagsArg(ds, 5, "regexp_replace", true)
	if err != nil {
		return nil, err
	}
	n := int64(1)
	switch {
	case len(ds) > 4:
		if n = ds[4].(int64); n < 0 {
			return nil, badRegexParam("n", n)
		}
	case f.global:
		n = 0
	}
	return replaceMatches(cache, ds[0].(string), ds[1].(string), ds[2].(string), start, n, f)
}

// replaceMatches replaces match n (all for 0) found from character start.
func replaceMatches(cache *regexCache, src, pattern, repl string, start, n int64, f regexFlags) (types.Datum, error) {
	off, ok, err := startOffset(src, start)
	if err != nil || !ok {
		return src, err
	}
	cr, err := cache.get(pattern, f)
	if err != nil {
		return nil, err
	}
	ms, err := findMatches(cr, src, off, n != 1, false)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	from := 0
	for i, m := range ms {
		if n != 0 && int64(i+1) != n {
			continue
		}
		b.WriteString(src[from:m[0]])
		expandReplacement(&b, repl, src, m)
		from = m[1]
	}
	b.WriteString(src[from:])
	return b.String(), nil
}

// expandReplacement writes repl with its back-references filled in.
func expandReplacement(b *strings.Builder, repl, src string, m regexMatch) {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' || i+1 == len(repl) {
			b.WriteByte(c)
			continue
		}
		next := repl[i+1]
		switch {
		case next >= '1' && next <= '9' || next == '&':
			g := 0
			if next != '&' {
				g = int(next - '0')
			}
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(src[m[2*g]:m[2*g+1]])
			}
			i++
		case next == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
}

func byteLength(ds []types.Datum) (types.Datum, error) { return int64(len(ds[0].([]byte))), nil }

// formatText is format(fmt, args…): %s inserts a value as text (NULL as
// nothing), %I as a quoted identifier, %L as a quoted literal (NULL as
// NULL), %% a percent sign; %n$… takes argument n.
func formatText(ds []types.Datum) (types.Datum, error) {
	if ds[0] == nil {
		return nil, nil
	}
	f, args := ds[0].(string), ds[1:]
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i == len(f) {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "unterminated format() type specifier")
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		arg := next
		if j := strings.IndexByte(f[i:], '$'); j > 0 {
			if n, err := strconv.Atoi(f[i : i+j]); err == nil {
				arg, i = n-1, i+j+1
			}
		}
		if i >= len(f) {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "unterminated format() type specifier")
		}
		if arg < 0 || arg >= len(args) {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "too few arguments for format()")
		}
		next = arg + 1
		v, isNull := "", args[arg] == nil
		if !isNull {
			v = args[arg].(string)
		}
		switch f[i] {
		case 's':
			b.WriteString(v)
		case 'I':
			if isNull {
				return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "null values cannot be formatted as an SQL identifier")
			}
			b.WriteString(quoteIdentIfNeeded(v))
		case 'L':
			if isNull {
				b.WriteString("NULL")
			} else {
				b.WriteString("'" + strings.ReplaceAll(v, "'", "''") + "'")
			}
		default:
			return nil, sqlerr.New(sqlerr.InvalidParameter, "unrecognized format() type specifier \"%c\"", f[i])
		}
	}
	return b.String(), nil
}

// quoteIdentIfNeeded quotes an identifier unless it is a plain lower-case
// one, as quote_ident does.
// QuoteIdentIfNeeded quotes an identifier the way PostgreSQL prints
// names: only when it would not read back as itself.
func QuoteIdentIfNeeded(s string) string { return quoteIdentIfNeeded(s) }

func quoteIdentIfNeeded(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// NameOIDKernel reads names as an object identifier type (text cast to
// regclass at run time): oid looks each one up.
func NameOIDKernel(ret types.T, oid func(string) (int64, error)) Kernel {
	return rowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
		return oid(ds[0].(string))
	})
}

// OIDNameKernel prints object identifiers through name (regclass::text).
func OIDNameKernel(ret types.T, name func(int64) string) Kernel {
	return rowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
		return name(ds[0].(int64)), nil
	})
}

// VariadicConcatKernel is concat(VARIADIC text[] or boolean[]) and, withSep,
// concat_ws(sep, VARIADIC ...): the array's non-NULL elements joined
// (with sep between them); a NULL array or separator gives NULL.
func VariadicConcatKernel(withSep bool) Kernel {
	return rowKernelNullable(textT, func(ds []types.Datum) (types.Datum, error) {
		sep := ""
		if withSep {
			if ds[0] == nil {
				return nil, nil
			}
			sep = ds[0].(string)
		}
		arr := ds[len(ds)-1]
		if arr == nil {
			return nil, nil
		}
		var parts []string
		for _, e := range elementsAsText(arr.([]types.Datum)) {
			if e != nil {
				parts = append(parts, e.(string))
			}
		}
		return strings.Join(parts, sep), nil
	})
}

// VariadicFormatKernel is format(fmt, VARIADIC text[] or boolean[]): the
// array's elements are the arguments; a NULL array is none.
func VariadicFormatKernel() Kernel {
	return rowKernelNullable(textT, func(ds []types.Datum) (types.Datum, error) {
		args := []types.Datum{ds[0]}
		if ds[1] != nil {
			args = append(args, elementsAsText(ds[1].([]types.Datum))...)
		}
		return formatText(args)
	})
}

// elementsAsText is an array's elements as text (booleans in their output
// form t/f), NULLs kept.
func elementsAsText(elems []types.Datum) []types.Datum {
	out := make([]types.Datum, len(elems))
	for i, e := range elems {
		if v, ok := e.(bool); ok {
			out[i] = map[bool]string{true: "t", false: "f"}[v]
		} else {
			out[i] = e
		}
	}
	return out
}
