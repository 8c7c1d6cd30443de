package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// ParseJSON checks that s is one JSON value; json keeps the text as given.
func ParseJSON(s string) (Datum, error) {
	if _, err := DecodeJSON(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NormalizeJSONB parses s and writes it the way PostgreSQL prints jsonb:
// object keys unique (the last one wins) and ordered by length and then
// bytes, ", " between items and ": " after keys, numbers as numeric
// prints them.
func NormalizeJSONB(s string) (Datum, error) {
	v, err := DecodeJSON(s)
	if err != nil {
		return nil, err
	}
	return EncodeJSONB(v), nil
}

// DecodeJSON parses one JSON value: objects become map[string]any,
// arrays []any, numbers json.Number, and strings, booleans and null
// their Go values.
func DecodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidJSON(s, err)
	}
	if rest := strings.TrimSpace(s[dec.InputOffset():]); rest != "" {
		return nil, invalidJSON(s, fmt.Errorf("extra data after the value"))
	}
	return v, nil
}

func invalidJSON(s string, err error) error {
	return sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type json").
		WithDetail(fmt.Sprintf("%v (in %q)", err, abbreviate(s)))
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// EncodeJSONB writes a decoded value in jsonb's normal form.
func EncodeJSONB(v any) string {
	var sb strings.Builder
	writeJSONB(&sb, v)
	return sb.String()
}

func writeJSONB(sb *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		if x {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case json.Number:
		sb.WriteString(NormalizeJSONNumber(string(x)))
	case string:
		WriteJSONString(sb, x)
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeJSONB(sb, e)
		}
		sb.WriteByte(']')
	case map[string]any:
		sb.WriteByte('{')
		for i, k := range JSONBKeys(x) {
			if i > 0 {
				sb.WriteString(", ")
			}
			WriteJSONString(sb, k)
			sb.WriteString(": ")
			writeJSONB(sb, x[k])
		}
		sb.WriteByte('}')
	default:
		// values built in Go (to_jsonb of a number) arrive as their types
		fmt.Fprint(sb, x)
	}
}

// JSONBKeys are an object's keys in jsonb's order: shorter first, then by
// bytes.
func JSONBKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return keys
}

// NormalizeJSONNumber prints a JSON number as numeric would: exponents
// are expanded, the digits after the point kept.
func NormalizeJSONNumber(s string) string {
	if !strings.ContainsAny(s, "eE") {
		return s
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	// the scale numeric gives: the fraction digits written minus the exponent
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	frac := 0
	if _, f, ok := strings.Cut(mant, "."); ok {
		frac = len(f)
	}
	var e int
	fmt.Sscan(exp, &e)
	return r.FloatString(max(frac-e, 0))
}

// WriteJSONString writes s as a JSON string, escaping as PostgreSQL does.
func WriteJSONString(sb *strings.Builder, s string) {
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(sb, `\u%04x`, r)
			} else {
				sb.WriteRune(r)
			}
		}
	}
	sb.WriteByte('"')
}

// JSONMember returns the raw text of object member key (the last one of
// that name) or array element idx of the JSON text s; ok is false when s
// is not an object (or array) or has no such member.
func JSONMember(s string, key string, idx int, byIndex bool) (string, bool) {
	t := strings.TrimLeft(s, " \t\r\n")
	if byIndex {
		if !strings.HasPrefix(t, "[") {
			return "", false
		}
		var elems []json.RawMessage
		if json.Unmarshal([]byte(t), &elems) != nil {
			return "", false
		}
		if idx < 0 {
			idx += len(elems) // negative indexes count from the end
		}
		if idx < 0 || idx >= len(elems) {
			return "", false
		}
		return string(elems[idx]), true
	}
	if !strings.HasPrefix(t, "{") {
		return "", false
	}
	var members map[string]json.RawMessage
	if json.Unmarshal([]byte(t), &members) != nil {
		return "", false
	}
	v, ok := members[key]
	return string(v), ok
}

// JSONText is what ->> gives for a member's raw text: a string's
// contents, NULL for null, the text of anything else.
func JSONText(raw string) Datum {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "null":
		return nil
	case strings.HasPrefix(raw, `"`):
		var s string
		if json.Unmarshal([]byte(raw), &s) == nil {
			return s
		}
	}
	return raw
}

// JSONTypeOf names the kind of a JSON text's value, as json_typeof does.
func JSONTypeOf(s string) string {
	t := bytes.TrimLeft([]byte(s), " \t\r\n")
	if len(t) == 0 {
		return "null"
	}
	switch t[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// JSONMembers splits a JSON document into its members' text, as written:
// an array's elements, or an object's values with their keys (in the
// document's order; a repeated key keeps its last value, in the place of
// its first). keys is nil for an array, and both are nil for a scalar.
func JSONMembers(doc string) (members []string, keys []string, isArray bool, err error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, false, invalidJSON(doc, err)
	}
	delim, ok := tok.(json.Delim)
	if !ok || delim != '[' && delim != '{' {
		return nil, nil, false, nil
	}
	at := map[string]int{}
	for dec.More() {
		key := ""
		if delim == '{' {
			kt, err := dec.Token()
			if err != nil {
				return nil, nil, false, invalidJSON(doc, err)
			}
			key, _ = kt.(string)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, false, invalidJSON(doc, err)
		}
		if delim == '{' {
			if i, seen := at[key]; seen {
				members[i] = string(raw)
				continue
			}
			at[key] = len(members)
			keys = append(keys, key)
		}
		members = append(members, string(raw))
	}
	if delim == '{' && keys == nil {
		keys = []string{}
	}
	return members, keys, delim == '[', nil
}
