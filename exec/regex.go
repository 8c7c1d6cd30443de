package exec

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/weftdb/weft/sql/sqlerr"
)

// PostgreSQL's regular expressions are Henry Spencer's ARE; Go's regexp
// is RE2. translateARE rewrites what has an RE2 equivalent (escapes,
// word boundaries, the flags' newline modes, expanded syntax) and refuses
// with 2201B what RE2 cannot do (back-references, lookaround) or would
// answer differently (quantifiers of mixed greediness), rather than give
// a wrong answer.

// regexFlags are a flags argument's meaning (regexp_match(s, p, 'gi')).
type regexFlags struct {
	global     bool
	ignoreCase bool
	// newlineStop: . and [^…] do not match a newline (flags n, p).
	newlineStop bool
	// newlineAnchor: ^ and $ match at line ends too (flags n, w).
	newlineAnchor bool
	expanded      bool // x: white space and # comments are not pattern
	literal       bool // q: the pattern is a literal string
	// matchOnly: only whether it matches is asked (~, regexp_like), so
	// which of several matches is preferred does not matter.
	matchOnly bool
}

// parseRegexFlags reads a flags string; fn names the function for the
// error when it takes no g.
func parseRegexFlags(flags string, fn string, globalOK bool) (regexFlags, error) {
	var f regexFlags
	for _, c := range flags {
		switch c {
		case 'g':
			if !globalOK {
				e := sqlerr.New(sqlerr.InvalidParameter, "%s() does not support the \"global\" option", fn)
				if fn == "regexp_match" {
					e = e.WithHint("Use the regexp_matches function instead.")
				}
				return f, e
			}
			f.global = true
		case 'i':
			f.ignoreCase = true
		case 'c':
			f.ignoreCase = false
		case 'n', 'm':
			f.newlineStop, f.newlineAnchor = true, true
		case 'p':
			f.newlineStop, f.newlineAnchor = true, false
		case 'w':
			f.newlineStop, f.newlineAnchor = false, true
		case 's':
			f.newlineStop, f.newlineAnchor = false, false
		case 'x':
			f.expanded = true
		case 't':
			f.expanded = false
		case 'q':
			f.literal = true
		case 'b', 'e':
			return f, sqlerr.New(sqlerr.FeatureNotSupported, "regular expression option \"%c\" (basic or extended POSIX syntax) is not supported", c)
		default:
			return f, sqlerr.New(sqlerr.InvalidParameter, "invalid regular expression option: \"%c\"", c)
		}
	}
	return f, nil
}

// compiledRegex is a translated pattern and what its matching loops need
// to know about it.
type compiledRegex struct {
	re *regexp.Regexp
	// contextual patterns look before the match (^, \A, \b): they cannot
	// be run on a suffix of the string.
	contextual bool
	// nullable patterns may match the empty string.
	nullable bool
	// reversed is re with its alternations' longer branches first,
	// for patterns whose groups a tie may leave ambiguous.
	reversed *regexp.Regexp
}

func invalidRegex(format string, args ...any) error {
	return sqlerr.New(sqlerr.InvalidRegex, "invalid regular expression: "+format, args...)
}

// compileARE compiles a PostgreSQL pattern under flags.
func compileARE(pattern string, f regexFlags) (*compiledRegex, error) {
	body, f, lazy, err := translateARE(pattern, f)
	if err != nil {
		return nil, err
	}
	prefix := "(?"
	if f.ignoreCase {
		prefix += "i"
	}
	if !f.newlineStop {
		prefix += "s"
	}
	if f.newlineAnchor {
		prefix += "m"
	}
	src := body
	if prefix != "(?" {
		src = prefix + ")" + body
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, invalidRegex("%v", err)
	}
	if !lazy {
		// an ARE without non-greedy quantifiers prefers the longest
		// match (a|ab on "ab" matches ab), as POSIX does
		re.Longest()
	}
	tree, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil, invalidRegex("%v", err)
	}
	cr := &compiledRegex{re: re, contextual: contextual(tree), nullable: nullable(tree)}
	if !lazy && re.NumSubexp() > 0 && hasAlternation(tree) {
		// Go prefers an alternation's earlier branch where PostgreSQL
		// gives each group in turn its longest span: the same pattern
		// with longer branches first is a second parse to choose from
		preferLongerBranches(tree)
		if cr.reversed, err = regexp.Compile(tree.String()); err != nil {
			return nil, invalidRegex("%v", err)
		}
		cr.reversed.Longest()
	}
	return cr, nil
}

func hasAlternation(re *syntax.Regexp) bool {
	if re.Op == syntax.OpAlternate {
		return true
	}
	for _, s := range re.Sub {
		if hasAlternation(s) {
			return true
		}
	}
	return false
}

// preferLongerBranches orders every alternation's branches longest
// first (by the longest text each can match).
func preferLongerBranches(re *syntax.Regexp) {
	for _, s := range re.Sub {
		preferLongerBranches(s)
	}
	if re.Op == syntax.OpAlternate {
		slices.SortStableFunc(re.Sub, func(a, b *syntax.Regexp) int { return maxMatchLen(b) - maxMatchLen(a) })
	}
}

// unboundedLen stands for the length of what a star can match.
const unboundedLen = 1 << 20

// maxMatchLen is the most characters re can match (capped).
func maxMatchLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpStar, syntax.OpPlus:
		return unboundedLen
	case syntax.OpQuest, syntax.OpCapture:
		return maxMatchLen(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max < 0 {
			return unboundedLen
		}
		return min(re.Max*maxMatchLen(re.Sub[0]), unboundedLen)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n = min(n+maxMatchLen(s), unboundedLen)
		}
		return n
	case syntax.OpAlternate:
		n := 0
		for _, s := range re.Sub {
			n = max(n, maxMatchLen(s))
		}
		return n
	}
	return 0
}

// posixGroups chooses between two parses of one match (same extent) the
// one whose first differing group is longer, as POSIX's rule for
// subexpressions has it.
func posixGroups(a, b regexMatch) regexMatch {
	if len(a) != len(b) || a[0] != b[0] || a[1] != b[1] {
		return a
	}
	for g := 2; g+1 < len(a); g += 2 {
		la, lb := spanLen(a, g), spanLen(b, g)
		switch {
		case la > lb:
			return a
		case lb > la:
			return b
		case a[g] != b[g]:
			return a
		}
	}
	return a
}

func spanLen(m regexMatch, g int) int {
	if m[g] < 0 {
		return -1
	}
	return m[g+1] - m[g]
}

// regexCache compiles each (pattern, flags) once per kernel.
type regexCache struct {
	mu sync.Mutex
	m  map[regexKey]*compiledRegex
}

type regexKey struct {
	pattern string
	flags   regexFlags
}

func (c *regexCache) get(pattern string, f regexFlags) (*compiledRegex, error) {
	f.global = false
	k := regexKey{pattern, f}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr, ok := c.m[k]; ok {
		return cr, nil
	}
	cr, err := compileARE(pattern, f)
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[regexKey]*compiledRegex{}
	}
	c.m[k] = cr
	return cr, nil
}

// mergeFlag applies one embedded option c (read alone into g) over f.
func mergeFlag(f, g regexFlags, c rune) regexFlags {
	switch c {
	case 'i', 'c':
		f.ignoreCase = g.ignoreCase
	case 'n', 'm', 'p', 'w', 's':
		f.newlineStop, f.newlineAnchor = g.newlineStop, g.newlineAnchor
	case 'x', 't':
		f.expanded = g.expanded
	case 'q':
		f.literal = true
	}
	return f
}

// translateARE rewrites an ARE as RE2 syntax; lazy reports non-greedy
// quantifiers.
func translateARE(p string, f regexFlags) (string, regexFlags, bool, error) {
	switch {
	case strings.HasPrefix(p, "***="):
		return regexp.QuoteMeta(p[4:]), f, false, nil
	case strings.HasPrefix(p, "***:"):
		p = p[4:]
	}
	if f.literal {
		return regexp.QuoteMeta(p), f, false, nil
	}
	if strings.HasPrefix(p, "(?") && !strings.HasPrefix(p, "(?:") && !strings.HasPrefix(p, "(?=") && !strings.HasPrefix(p, "(?!") && !strings.HasPrefix(p, "(?<") {
		// embedded options, allowed at the start of an ARE only
		end := strings.IndexByte(p, ')')
		if end < 0 {
			return "", f, false, invalidRegex("parentheses () not balanced")
		}
		for _, c := range p[2:end] {
			if c == 'g' {
				return "", f, false, invalidRegex("invalid embedded option")
			}
			g, err := parseRegexFlags(string(c), "", false)
			if err != nil {
				return "", f, false, invalidRegex("invalid embedded option")
			}
			f = mergeFlag(f, g, c)
		}
		p = p[end+1:]
		if f.literal {
			return regexp.QuoteMeta(p), f, false, nil
		}
	}
	t := &areTranslator{src: []rune(p), flags: f}
	if err := t.run(); err != nil {
		return "", f, false, err
	}
	if t.greedy && t.lazy && !f.matchOnly {
		return "", f, false, invalidRegex("quantifiers of mixed greediness are not supported")
	}
	return t.out.String(), f, t.lazy, nil
}

type areTranslator struct {
	src          []rune
	i            int
	out          strings.Builder
	flags        regexFlags
	greedy, lazy bool
	// lastWord: the last atom written always matches a word character
	// (what makes \M a plain word boundary).
	lastWord bool
}

func isWordRune(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 && (r != utf8.RuneError)
}

func (t *areTranslator) peek(k int) rune {
	if t.i+k < len(t.src) {
		return t.src[t.i+k]
	}
	return 0
}

func (t *areTranslator) run() error {
	for t.i < len(t.src) {
		c := t.src[t.i]
		switch {
		case t.flags.expanded && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			t.i++
		case t.flags.expanded && c == '#':
			for t.i < len(t.src) && t.src[t.i] != '\n' {
				t.i++
			}
		case c == '\\':
			if err := t.escape(); err != nil {
				return err
			}
		case c == '[':
			if err := t.bracket(); err != nil {
				return err
			}
			t.lastWord = false
		case c == '(':
			if t.peek(1) == '?' {
				switch t.peek(2) {
				case ':':
					t.out.WriteString("(?:")
					t.i += 3
					continue
				case '=', '!', '<':
					return invalidRegex("lookahead and lookbehind constraints are not supported")
				}
				return invalidRegex("quantifier operand invalid")
			}
			t.out.WriteRune(c)
			t.i++
			t.lastWord = false
		case c == '*' || c == '+' || c == '?' || c == '{' && t.peek(1) >= '0' && t.peek(1) <= '9':
			t.quantifier()
		case c == '|':
			// an alternation is always greedy in an ARE: next to a
			// non-greedy quantifier the preferences mix
			t.greedy = true
			t.out.WriteRune(c)
			t.lastWord = false
			t.i++
		default:
			t.out.WriteRune(c)
			t.lastWord = isWordRune(c)
			t.i++
		}
	}
	return nil
}

// quantifier copies *, +, ?, {m,n} and a ? making it non-greedy.
func (t *areTranslator) quantifier() {
	if c := t.src[t.i]; c == '*' || c == '?' || c == '{' && t.peek(1) == '0' {
		t.lastWord = false // the atom may be absent: \M would not follow a word
	}
	if t.src[t.i] == '{' {
		for t.i < len(t.src) && t.src[t.i] != '}' {
			t.out.WriteRune(t.src[t.i])
			t.i++
		}
	}
	if t.i < len(t.src) {
		t.out.WriteRune(t.src[t.i])
		t.i++
	}
	if t.peek(0) == '?' {
		t.out.WriteByte('?')
		t.i++
		t.lazy = true
	} else {
		t.greedy = true
	}
}

// escape translates a backslash sequence outside brackets.
func (t *areTranslator) escape() error {
	if t.i+1 >= len(t.src) {
		return invalidRegex("invalid escape \\ sequence")
	}
	c := t.src[t.i+1]
	t.i += 2
	word := false
	switch c {
	case 'm':
		if r := t.peek(0); !(isWordRune(r) || r == '\\' && t.peek(1) == 'w') {
			return invalidRegex("\\m is supported only before a word character")
		}
		t.out.WriteString(`\b`)
	case 'M':
		if !t.lastWord {
			return invalidRegex("\\M is supported only after a word character")
		}
		t.out.WriteString(`\b`)
	case 'y':
		t.out.WriteString(`\b`)
	case 'Y':
		t.out.WriteString(`\B`)
	case 'A':
		t.out.WriteString(`\A`)
	case 'Z':
		t.out.WriteString(`\z`)
	case 'w':
		t.out.WriteString(`\w`)
		word = true
	default:
		s, err := t.charEscape(c)
		if err != nil {
			return err
		}
		t.out.WriteString(s)
		word = len(s) == 1 && isWordRune(rune(s[0]))
	}
	t.lastWord = word
	return nil
}

// charEscape translates an escape standing for characters (usable
// inside brackets too).
func (t *areTranslator) charEscape(c rune) (string, error) {
	switch c {
	case 'd', 'D', 's', 'S', 'w', 'W', 'a', 'f', 'n', 'r', 't', 'v':
		return `\` + string(c), nil
	case 'b':
		return `\x08`, nil
	case 'B':
		return `\\`, nil
	case 'e':
		return `\x1b`, nil
	case '0':
		return `\x00`, nil
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 8, 'u': 4, 'U': 8}[c]
		start := t.i
		for t.i < len(t.src) && t.i-start < n && strings.ContainsRune("0123456789abcdefABCDEF", t.src[t.i]) {
			t.i++
		}
		if t.i == start || c != 'x' && t.i-start != n {
			return "", invalidRegex("invalid escape \\ sequence")
		}
		return `\x{` + string(t.src[start:t.i]) + `}`, nil
	case 'c':
		if t.i >= len(t.src) {
			return "", invalidRegex("invalid escape \\ sequence")
		}
		r := t.src[t.i] & 0x1f
		t.i++
		return regexp.QuoteMeta(string(r)), nil
	}
	if c >= '1' && c <= '9' {
		return "", invalidRegex("back-references are not supported")
	}
	if isWordRune(c) {
		return "", invalidRegex("invalid escape \\ sequence")
	}
	return regexp.QuoteMeta(string(c)), nil
}

// bracket translates a bracket expression [...]; under flags n and p a
// negated one does not match a newline.
func (t *areTranslator) bracket() error {
	t.out.WriteByte('[')
	t.i++
	if t.peek(0) == '^' {
		t.out.WriteByte('^')
		t.i++
		if t.flags.newlineStop {
			t.out.WriteString(`\n`)
		}
	}
	if t.peek(0) == ']' {
		t.out.WriteString(`\]`)
		t.i++
	}
	for t.i < len(t.src) {
		c := t.src[t.i]
		switch {
		case c == ']':
			t.out.WriteByte(']')
			t.i++
			return nil
		case c == '[' && (t.peek(1) == '.' || t.peek(1) == '='):
			return invalidRegex("collating elements and equivalence classes are not supported")
		case c == '[' && t.peek(1) == ':':
			end := strings.Index(string(t.src[t.i:]), ":]")
			if end < 0 {
				return invalidRegex("brackets [] not balanced")
			}
			cls := string(t.src[t.i : t.i+len([]rune(string(t.src[t.i:])[:end]))+2])
			t.out.WriteString(cls)
			t.i += len([]rune(cls))
		case c == '\\' && t.i+1 < len(t.src):
			e := t.src[t.i+1]
			t.i += 2
			s, err := t.charEscape(e)
			if err != nil {
				return err
			}
			t.out.WriteString(s)
		case c == '[':
			t.out.WriteString(`\[`)
			t.i++
		default:
			t.out.WriteRune(c)
			t.i++
		}
	}
	return invalidRegex("brackets [] not balanced")
}

// contextual reports assertions that look before the match position.
func contextual(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, s := range re.Sub {
		if contextual(s) {
			return true
		}
	}
	return false
}

// nullable reports whether re can match the empty string (assertions
// count as empty).
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpNoMatch:
		return false
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpPlus, syntax.OpCapture:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	}
	return true
}
