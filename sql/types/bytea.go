package types

import (
	"github.com/weftdb/weft/sql/sqlerr"
)

// ParseBytea reads bytea's text input as PostgreSQL's byteain does: \x
// followed by pairs of hex digits (whitespace between pairs allowed), or
// else the escape format, where \\ is one backslash, \ooo (first digit 0-3)
// one octal byte and every other byte itself.
func ParseBytea(s string) ([]byte, error) {
	if len(s) >= 2 && s[0] == '\\' && s[1] == 'x' {
		return parseByteaHex(s[2:])
	}
	return parseByteaEscape(s)
}

func parseByteaHex(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/2)
	for i := 0; i < len(s); {
		if isByteaSpace(s[i]) {
			i++
			continue
		}
		hi, ok := hexDigit(s[i])
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid hexadecimal digit: \"%c\"", s[i])
		}
		if i+1 >= len(s) {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid hexadecimal data: odd number of digits")
		}
		lo, ok := hexDigit(s[i+1])
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid hexadecimal digit: \"%c\"", s[i+1])
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return out, nil
}

func parseByteaEscape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i += 2
		case i+3 < len(s) && isOctal(s[i+1], '3') && isOctal(s[i+2], '7') && isOctal(s[i+3], '7'):
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 4
		default:
			return nil, sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type bytea")
		}
	}
	return out, nil
}

func isOctal(c, top byte) bool { return c >= '0' && c <= top }

// isByteaSpace is the whitespace byteain skips between hex pairs (C isspace).
func isByteaSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
