package exec

import (
	"regexp"
	"unicode/utf8"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

var textArrayT = types.ArrayOf(types.TextT)

// The regular-expression functions. Each kernel keeps its own cache of
// compiled patterns (the pattern is nearly always a constant).

func regexFunctions() []*ScalarDef {
	return []*ScalarDef{
		regexDef("regexp_match", textArrayT, 2, 3, regexpMatch),
		regexDef("regexp_split_to_array", textArrayT, 2, 3, regexpSplitToArray),
		regexDef("regexp_like", types.BoolT, 2, 3, regexpLike),
		{Name: "regexp_count", Resolve: regexResolve("regexp_count", int4T, []types.T{textT, textT, int4T, textT}, 2, regexpCount)},
		{Name: "regexp_instr", Resolve: regexResolve("regexp_instr", int4T, []types.T{textT, textT, int4T, int4T, int4T, textT, int4T}, 2, regexpInstr)},
		{Name: "regexp_substr", Resolve: regexResolve("regexp_substr", textT, []types.T{textT, textT, int4T, int4T, textT, int4T}, 2, regexpSubstr)},
	}
}

// regexDef is a strict function of (text, pattern [, flags]).
func regexDef(name string, ret types.T, minArgs, maxArgs int, f func(*regexCache, []types.Datum) (types.Datum, error)) *ScalarDef {
	params := []types.T{textT, textT, textT}[:maxArgs]
	return &ScalarDef{Name: name, Resolve: regexResolve(name, ret, params, minArgs, f)}
}

// regexResolve binds a strict function taking a prefix (at least
// minArgs long) of params.
func regexResolve(name string, ret types.T, params []types.T, minArgs int, f func(*regexCache, []types.Datum) (types.Datum, error)) func([]types.T) ([]types.T, types.T, Kernel, error) {
	return func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) < minArgs || len(args) > len(params) || !castableAll(args, params[:len(args)]) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		cache := &regexCache{}
		return params[:len(args)], ret, rowKernel(ret, func(ds []types.Datum) (types.Datum, error) { return f(cache, ds) }), nil
	}
}

// regexMatch is one match: byte offsets of the whole match and of each
// capture group (-1 when a group took no part).
type regexMatch []int

// findMatches runs the search loop of PostgreSQL's regexp.c from byte
// offset start: every match (just the first unless all), and after an
// empty match the search moves on one character. ignoreDegenerate drops
// the empty matches at the ends and right after a match, as splitting
// does.
func findMatches(cr *compiledRegex, s string, start int, all, ignoreDegenerate bool) ([]regexMatch, error) {
	ms, err := findMatchesWith(cr.re, cr, s, start, all, ignoreDegenerate)
	if err != nil || cr.reversed == nil || len(ms) == 0 {
		return ms, err
	}
	alt, err := findMatchesWith(cr.reversed, cr, s, start, all, ignoreDegenerate)
	if err != nil || len(alt) != len(ms) {
		return ms, err
	}
	for i := range ms {
		ms[i] = posixGroups(ms[i], alt[i])
	}
	return ms, nil
}

func findMatchesWith(re *regexp.Regexp, cr *compiledRegex, s string, start int, all, ignoreDegenerate bool) ([]regexMatch, error) {
	if !cr.contextual {
		return suffixMatches(re, s, start, all, ignoreDegenerate), nil
	}
	if start > 0 || all && cr.nullable && !ignoreDegenerate {
		// Go cannot search from an offset keeping what comes before it
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a regular expression with ^, \\A or word boundaries that can match an empty string is not supported here")
	}
	n := 1
	if all {
		n = -1
	}
	var out []regexMatch
	prevEnd := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, n) {
		if !ignoreDegenerate || m[0] < len(s) && m[1] > prevEnd {
			out = append(out, m)
		}
		prevEnd = m[1]
	}
	return out, nil
}

// suffixMatches is findMatches for a pattern that does not look before
// its match, so each search can run on the rest of the string.
func suffixMatches(re *regexp.Regexp, s string, start int, all, ignoreDegenerate bool) []regexMatch {
	var out []regexMatch
	prevEnd := start
	if ignoreDegenerate {
		prevEnd = 0
	}
	for pos := start; pos <= len(s); {
		m := re.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos
			}
		}
		if !ignoreDegenerate || m[0] < len(s) && m[1] > prevEnd {
			out = append(out, m)
		}
		prevEnd = m[1]
		if !all {
			break
		}
		pos = m[1]
		if m[0] == m[1] {
			if pos >= len(s) {
				break
			}
			_, w := utf8.DecodeRuneInString(s[pos:])
			pos += w
		}
	}
	return out
}

func regexFlagsArg(ds []types.Datum, i int, fn string, globalOK bool) (regexFlags, error) {
	if len(ds) > i {
		return parseRegexFlags(ds[i].(string), fn, globalOK)
	}
	return regexFlags{}, nil
}

// matchGroups is regexp_match's array: the capture groups, or the whole
// match when there are none.
func matchGroups(s string, m regexMatch) []types.Datum {
	if len(m) == 2 {
		return []types.Datum{s[m[0]:m[1]]}
	}
	out := make([]types.Datum, len(m)/2-1)
	for g := range out {
		if a, b := m[2*g+2], m[2*g+3]; a >= 0 {
			out[g] = s[a:b]
		}
	}
	return out
}

func regexpMatch(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	f, err := regexFlagsArg(ds, 2, "regexp_match", false)
	if err != nil {
		return nil, err
	}
	cr, err := cache.get(ds[1].(string), f)
	if err != nil {
		return nil, err
	}
	s := ds[0].(string)
	ms, err := findMatches(cr, s, 0, false, false)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return matchGroups(s, ms[0]), nil
}

// regexpMatchesRows is regexp_matches(s, pattern [, flags]): one text[]
// per match (only the first without flag g).
func regexpMatchesRows(cache *regexCache, vals []types.Datum) ([]types.Datum, error) {
	f, err := regexFlagsArg(vals, 2, "regexp_matches", true)
	if err != nil {
		return nil, err
	}
	cr, err := cache.get(vals[1].(string), f)
	if err != nil {
		return nil, err
	}
	s := vals[0].(string)
	ms, err := findMatches(cr, s, 0, f.global, false)
	if err != nil {
		return nil, err
	}
	out := make([]types.Datum, len(ms))
	for i, m := range ms {
		out[i] = matchGroups(s, m)
	}
	return out, nil
}

// regexpSplitRows is regexp_split_to_table(s, pattern [, flags]): the
// text between the matches.
func regexpSplitRows(cache *regexCache, vals []types.Datum) ([]types.Datum, error) {
	f, err := regexFlagsArg(vals, 2, "regexp_split_to_table", false)
	if err != nil {
		return nil, err
	}
	cr, err := cache.get(vals[1].(string), f)
	if err != nil {
		return nil, err
	}
	return splitByMatches(cr, vals[0].(string))
}

func splitByMatches(cr *compiledRegex, s string) ([]types.Datum, error) {
	ms, err := findMatches(cr, s, 0, true, true)
	if err != nil {
		return nil, err
	}
	out := make([]types.Datum, 0, len(ms)+1)
	from := 0
	for _, m := range ms {
		out = append(out, s[from:m[0]])
		from = m[1]
	}
	return append(out, s[from:]), nil
}

func regexpSplitToArray(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	f, err := regexFlagsArg(ds, 2, "regexp_split_to_array", false)
	if err != nil {
		return nil, err
	}
	cr, err := cache.get(ds[1].(string), f)
	if err != nil {
		return nil, err
	}
	return splitByMatches(cr, ds[0].(string))
}

func regexpLike(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	f, err := regexFlagsArg(ds, 2, "regexp_like", false)
	if err != nil {
		return nil, err
	}
	f.matchOnly = true
	cr, err := cache.get(ds[1].(string), f)
	if err != nil {
		return nil, err
	}
	return cr.re.MatchString(ds[0].(string)), nil
}

func badRegexParam(name string, v int64) error {
	return sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"%s\": %d", name, v)
}

// startOffset turns regexp_count's 1-based character start into a byte
// offset (ok false past the end: nothing can match).
func startOffset(s string, start int64) (int, bool, error) {
	if start <= 0 {
		return 0, false, badRegexParam("start", start)
	}
	off := 0
	for k := int64(1); k < start; k++ {
		if off >= len(s) {
			return 0, false, nil
		}
		_, w := utf8.DecodeRuneInString(s[off:])
		off += w
	}
	return off, true, nil
}

// optInt is integer argument i, or def when absent.
func optInt(ds []types.Datum, i int, def int64) int64 {
	if len(ds) > i {
		return ds[i].(int64)
	}
	return def
}

// matchesFrom runs a search from regexp_count/instr/substr's start
// argument (at index 2) with flags at index flagsAt.
func matchesFrom(cache *regexCache, ds []types.Datum, flagsAt int, fn string) (string, []regexMatch, error) {
	f, err := regexFlagsArg(ds, flagsAt, fn, false)
	if err != nil {
		return "", nil, err
	}
	s := ds[0].(string)
	off, ok, err := startOffset(s, optInt(ds, 2, 1))
	if err != nil || !ok {
		return s, nil, err
	}
	cr, err := cache.get(ds[1].(string), f)
	if err != nil {
		return s, nil, err
	}
	ms, err := findMatches(cr, s, off, true, false)
	return s, ms, err
}

func regexpCount(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	_, ms, err := matchesFrom(cache, ds, 3, "regexp_count")
	return int64(len(ms)), err
}

// nthGroup is the byte range of match n's group (0 = whole match), ok
// false when there is no such match or group.
func nthGroup(ms []regexMatch, n, group int64) (int, int, bool) {
	if n > int64(len(ms)) {
		return 0, 0, false
	}
	m := ms[n-1]
	if 2*group+1 >= int64(len(m)) || m[2*group] < 0 {
		return 0, 0, false
	}
	return m[2*group], m[2*group+1], true
}

func regexpInstr(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	n, endOption, group := optInt(ds, 3, 1), optInt(ds, 4, 0), optInt(ds, 6, 0)
	switch {
	case n <= 0:
		return nil, badRegexParam("n", n)
	case endOption != 0 && endOption != 1:
		return nil, badRegexParam("endoption", endOption)
	case group < 0:
		return nil, badRegexParam("subexpr", group)
	}
	s, ms, err := matchesFrom(cache, ds, 5, "regexp_instr")
	if err != nil {
		return nil, err
	}
	a, b, ok := nthGroup(ms, n, group)
	if !ok {
		return int64(0), nil
	}
	at := a
	if endOption == 1 {
		at = b
	}
	return int64(utf8.RuneCountInString(s[:at]) + 1), nil
}

func regexpSubstr(cache *regexCache, ds []types.Datum) (types.Datum, error) {
	n, group := optInt(ds, 3, 1), optInt(ds, 5, 0)
	switch {
	case n <= 0:
		return nil, badRegexParam("n", n)
	case group < 0:
		return nil, badRegexParam("subexpr", group)
	}
	s, ms, err := matchesFrom(cache, ds, 4, "regexp_substr")
	if err != nil {
		return nil, err
	}
	a, b, ok := nthGroup(ms, n, group)
	if !ok {
		return nil, nil
	}
	return s[a:b], nil
}

// regexSubstringDef is substring(s, pattern) (args 2: the part the first
// parenthesized group matched, or the whole match) and substring(s,
// pattern, escape) (args 3: SIMILAR's pattern, the part between its
// escape-double-quotes); NULL without a match.
func regexSubstringDef(args int) *ScalarDef {
	params := []types.T{textT, textT, textT}[:args]
	return &ScalarDef{Name: "substring", Resolve: regexResolve("substring", textT, params, args, func(cache *regexCache, ds []types.Datum) (types.Datum, error) {
		s := ds[0].(string)
		var m regexMatch
		if args == 3 {
			re, err := cache.similar(ds[1].(string), ds[2].(string))
			if err != nil {
				return nil, err
			}
			if m = re.FindStringSubmatchIndex(s); m == nil {
				return nil, nil
			}
		} else {
			cr, err := cache.get(ds[1].(string), regexFlags{})
			if err != nil {
				return nil, err
			}
			ms, err := findMatches(cr, s, 0, false, false)
			if err != nil || len(ms) == 0 {
				return nil, err
			}
			m = ms[0]
		}
		if len(m) > 2 {
			m = m[2:4] // the first group
		}
		if m[0] < 0 {
			return nil, nil
		}
		return s[m[0]:m[1]], nil
	})}
}

// similar compiles SIMILAR's pattern for SUBSTRING … SIMILAR: the
// translation holds only what Go's syntax reads the same way, and its
// separators mix a lazy first part with greedy ones, which the ARE
// translator refuses for PostgreSQL's whole-pattern greediness rule.
func (c *regexCache) similar(pattern, escape string) (*regexp.Regexp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// text never holds NUL, so this key cannot be an ARE pattern's
	k := regexKey{pattern: "\x00similar\x00" + escape + "\x00" + pattern}
	if cr, ok := c.m[k]; ok {
		return cr.re, nil
	}
	translated, err := similarToRegex(pattern, escape)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(translated.(string))
	if err != nil {
		return nil, invalidRegex("%v", err)
	}
	if c.m == nil {
		c.m = map[regexKey]*compiledRegex{}
	}
	c.m[k] = &compiledRegex{re: re}
	return re, nil
}
