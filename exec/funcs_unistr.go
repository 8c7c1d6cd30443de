package exec

import (
	"strconv"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// unistrFunction is unistr(text): the string with its Unicode escapes
// (\XXXX, \+XXXXXX, \uXXXX, \UXXXXXXXX, UTF-16 surrogate pairs joined)
// decoded and \\ made one backslash, with PostgreSQL's errors.
func unistrFunction() *ScalarDef {
	return sig("unistr", []types.T{types.TextT}, types.TextT, func(ds []types.Datum) (types.Datum, error) {
		return unistr(ds[0].(string))
	})
}

func unistr(s string) (string, error) {
	var sb strings.Builder
	var high rune // a first surrogate waiting for its second
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			if high != 0 {
				return "", errSurrogatePair()
			}
			sb.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			if high != 0 {
				return "", errSurrogatePair()
			}
			sb.WriteByte('\\')
			i += 2
			continue
		}
		cp, width, ok := unicodeEscape(s[i:])
		if !ok {
			return "", sqlerr.New(sqlerr.SyntaxError, "invalid Unicode escape").
				WithHint(`Unicode escapes must be \XXXX, \+XXXXXX, \uXXXX, or \UXXXXXXXX.`)
		}
		i += width
		if cp == 0 || cp > 0x10FFFF { // text holds no NUL
			return "", sqlerr.New(sqlerr.InvalidParameter, "invalid Unicode code point: %04X", cp)
		}
		switch {
		case high != 0:
			if cp < 0xDC00 || cp > 0xDFFF {
				return "", errSurrogatePair()
			}
			sb.WriteRune(0x10000 + (high-0xD800)<<10 + (cp - 0xDC00))
			high = 0
		case cp >= 0xD800 && cp <= 0xDBFF:
			high = cp
		case cp >= 0xDC00 && cp <= 0xDFFF:
			return "", errSurrogatePair()
		default:
			sb.WriteRune(cp)
		}
	}
	if high != 0 {
		return "", errSurrogatePair()
	}
	return sb.String(), nil
}

// unicodeEscape reads one escape at the start of s (which begins with a
// backslash): the code point and the escape's length.
func unicodeEscape(s string) (rune, int, bool) {
	forms := []struct {
		prefix string
		digits int
	}{{`\+`, 6}, {`\u`, 4}, {`\U`, 8}, {`\`, 4}}
	for _, f := range forms {
		if !strings.HasPrefix(s, f.prefix) {
			continue
		}
		end := len(f.prefix) + f.digits
		if len(s) < end {
			return 0, 0, false
		}
		v, err := strconv.ParseUint(s[len(f.prefix):end], 16, 32)
		if err != nil || strings.ContainsAny(s[len(f.prefix):end], "+-") {
			return 0, 0, false
		}
		return rune(v), end, true
	}
	return 0, 0, false
}

func errSurrogatePair() error {
	return sqlerr.New(sqlerr.SyntaxError, "invalid Unicode surrogate pair")
}
