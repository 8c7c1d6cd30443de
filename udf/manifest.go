package udf

import (
	"fmt"
	"strings"

	"github.com/weftdb/weft/sql/types"
)

// ManifestEntry is one function a module declares (docs/udf-abi.md,
// "Manifest"):
//
//	function add_one scalar (l) -> l strict immutable
//	function hash_any scalar (any) -> any
type ManifestEntry struct {
	Name     string
	Kind     string   // scalar or aggregate (table is reserved)
	Args     []string // Arrow format strings, or "any"
	Result   string   // Arrow format string, or "any" (the bind step decides)
	Strict   bool
	Volatile bool
	// Columns are a table function's output columns (nil with "any": the
	// bind step names them); RelationInput marks "(table)": the function
	// reads a whole relation, given as a subquery argument.
	Columns       []Column
	RelationInput bool
}

// Column is one output column of a table function.
type Column struct {
	Name string
	T    types.T
}

// Polymorphic reports whether the entry needs its bind step.
func (e *ManifestEntry) Polymorphic() bool {
	if e.Result == "any" {
		return true
	}
	for _, a := range e.Args {
		if a == "any" {
			return true
		}
	}
	return false
}

func parseManifest(text string) ([]ManifestEntry, error) {
	var out []ManifestEntry
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	sawHeader := false
	for n, raw := range lines {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if !sawHeader {
			if len(f) != 2 || f[0] != "weft" || f[1] != "1" {
				return nil, fmt.Errorf("line %d: manifest must start with \"weft 1\"", n+1)
			}
			sawHeader = true
			continue
		}
		if f[0] != "function" || len(f) < 5 {
			return nil, fmt.Errorf("line %d: want: function NAME KIND (ARGS) -> RESULT [strict] [volatile]", n+1)
		}
		e := ManifestEntry{Name: strings.ToLower(f[1]), Kind: f[2]}
		if e.Kind != "scalar" && e.Kind != "aggregate" && e.Kind != "table" {
			return nil, fmt.Errorf("line %d: function kind %q is unknown (scalar, aggregate and table are)", n+1, e.Kind)
		}
		rest := strings.Join(f[3:], " ")
		open, close := strings.IndexByte(rest, '('), strings.IndexByte(rest, ')')
		if open != 0 || close < 0 {
			return nil, fmt.Errorf("line %d: argument list must be in parentheses", n+1)
		}
		if args := strings.TrimSpace(rest[1:close]); args == "table" && e.Kind == "table" {
			e.RelationInput = true
		} else if args != "" {
			for _, a := range strings.Split(args, ",") {
				a = strings.TrimSpace(a)
				if _, err := typeOfFormat(a); err != nil && a != "any" {
					return nil, fmt.Errorf("line %d: %v", n+1, err)
				}
				e.Args = append(e.Args, a)
			}
		}
		after := strings.TrimSpace(rest[close+1:])
		if !strings.HasPrefix(after, "->") {
			return nil, fmt.Errorf("line %d: missing \"-> RESULT\"", n+1)
		}
		after = strings.TrimSpace(after[2:])
		if e.Kind == "table" && strings.HasPrefix(after, "(") {
			end := strings.IndexByte(after, ')')
			if end < 0 {
				return nil, fmt.Errorf("line %d: unclosed output column list", n+1)
			}
			cols, err := ParseColumns(after[:end+1])
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n+1, err)
			}
			e.Columns, e.Result = cols, "table"
			after = "table " + after[end+1:]
		}
		tail := strings.Fields(after)
		if len(tail) == 0 {
			return nil, fmt.Errorf("line %d: missing result type", n+1)
		}
		tail = append([]string{"->"}, tail...)
		if e.Result == "" {
			e.Result = tail[1]
		}
		if _, err := typeOfFormat(e.Result); err != nil && e.Result != "any" && e.Result != "table" {
			return nil, fmt.Errorf("line %d: %v", n+1, err)
		}
		for _, flag := range tail[2:] {
			switch flag {
			case "strict":
				e.Strict = true
			case "volatile":
				e.Volatile = true
			case "immutable", "called_on_null_input":
			default:
				return nil, fmt.Errorf("line %d: unknown flag %q", n+1, flag)
			}
		}
		out = append(out, e)
	}
	if !sawHeader {
		return nil, fmt.Errorf("empty manifest")
	}
	return out, nil
}

// formats maps Arrow C data interface format strings to SQL types.
var formats = []struct {
	format string
	t      types.T
}{
	{"b", types.BoolT},
	{"s", types.Int2T},
	{"i", types.Int4T},
	{"l", types.Int8T},
	{"f", types.Float4T},
	{"g", types.Float8T},
	{"u", types.TextT},
	{"z", types.ByteaT},
	{"tdD", types.DateT},
	{"tsu:", types.TimestampT},
	{"tsu:UTC", types.TimestampTZT},
}

func typeOfFormat(f string) (types.T, error) {
	for _, x := range formats {
		if x.format == f {
			return x.t, nil
		}
	}
	return types.T{}, fmt.Errorf("unsupported Arrow format %q", f)
}

// FormatOf returns the Arrow format string a batch function sees for t.
func FormatOf(t types.T) (string, bool) {
	k := t.Kind
	if t.IsString() {
		k = types.Text
	}
	for _, x := range formats {
		if x.t.Kind == k {
			return x.format, true
		}
	}
	return "", false
}

// ParseColumns reads "(name format, name format, …)".
func ParseColumns(text string) ([]Column, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "(") || !strings.HasSuffix(text, ")") {
		return nil, fmt.Errorf("column list %q must be in parentheses", text)
	}
	var out []Column
	for _, part := range strings.Split(text[1:len(text)-1], ",") {
		f := strings.Fields(part)
		if len(f) != 2 {
			return nil, fmt.Errorf("column %q: want NAME FORMAT", strings.TrimSpace(part))
		}
		t, err := typeOfFormat(f[1])
		if err != nil {
			return nil, err
		}
		out = append(out, Column{Name: strings.ToLower(f[0]), T: t})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("a table function returns at least one column")
	}
	return out, nil
}
