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
		if e.Kind != "scalar" && e.Kind != "aggregate" {
			return nil, fmt.Errorf("line %d: function kind %q is not supported yet (scalar and aggregate are)", n+1, e.Kind)
		}
		rest := strings.Join(f[3:], " ")
		open, close := strings.IndexByte(rest, '('), strings.IndexByte(rest, ')')
		if open != 0 || close < 0 {
			return nil, fmt.Errorf("line %d: argument list must be in parentheses", n+1)
		}
		if args := strings.TrimSpace(rest[1:close]); args != "" {
			for _, a := range strings.Split(args, ",") {
				a = strings.TrimSpace(a)
				if _, err := typeOfFormat(a); err != nil && a != "any" {
					return nil, fmt.Errorf("line %d: %v", n+1, err)
				}
				e.Args = append(e.Args, a)
			}
		}
		tail := strings.Fields(rest[close+1:])
		if len(tail) < 2 || tail[0] != "->" {
			return nil, fmt.Errorf("line %d: missing \"-> RESULT\"", n+1)
		}
		e.Result = tail[1]
		if _, err := typeOfFormat(e.Result); err != nil && e.Result != "any" {
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
