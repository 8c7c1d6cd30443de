package exec

import (
	"bytes"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
)

// CompareJSONB orders two jsonb values as PostgreSQL does: object > array
// > boolean > number > string > null; arrays and objects with more
// elements or pairs are greater, equal-sized ones compare element by
// element (objects key, value, key, value … in their storage order:
// shorter keys first); numbers by value (2.5 = 2.50), strings bytewise.
// At the top level a scalar counts as a one-element array that sorts
// before a real one, so an empty array is the least value of all.
// Text that does not parse compares as text.
func CompareJSONB(a, b string) int {
	x, errA := decodeJSONB(a)
	y, errB := decodeJSONB(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return compareJSONBTop(x, y)
}

func decodeJSONB(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// jsonbRank is the order of value kinds within a container.
func jsonbRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case string:
		return 1
	case json.Number:
		return 2
	case bool:
		return 3
	case []any:
		return 4
	}
	return 5 // object
}

func compareJSONBTop(x, y any) int {
	_, xObj := x.(map[string]any)
	_, yObj := y.(map[string]any)
	if xObj || yObj {
		return compareJSONB(x, y)
	}
	// both are arrays, raw scalars being one-element arrays
	xs, xRaw := asTopArray(x)
	ys, yRaw := asTopArray(y)
	if len(xs) != len(ys) {
		return compareInts(len(xs), len(ys))
	}
	if xRaw != yRaw {
		if xRaw {
			return -1
		}
		return 1
	}
	return compareJSONBElems(xs, ys)
}

func asTopArray(v any) ([]any, bool) {
	if arr, ok := v.([]any); ok {
		return arr, false
	}
	return []any{v}, true
}

func compareJSONB(x, y any) int {
	if rx, ry := jsonbRank(x), jsonbRank(y); rx != ry {
		return compareInts(rx, ry)
	}
	switch a := x.(type) {
	case nil:
		return 0
	case string:
		return strings.Compare(a, y.(string))
	case json.Number:
		return compareJSONNumbers(a, y.(json.Number))
	case bool:
		return compareInts(boolInt(a), boolInt(y.(bool)))
	case []any:
		b := y.([]any)
		if len(a) != len(b) {
			return compareInts(len(a), len(b))
		}
		return compareJSONBElems(a, b)
	}
	a, b := x.(map[string]any), y.(map[string]any)
	if len(a) != len(b) {
		return compareInts(len(a), len(b))
	}
	ka, kb := storageOrder(a), storageOrder(b)
	for i := range ka {
		if c := strings.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
		if c := compareJSONB(a[ka[i]], b[kb[i]]); c != 0 {
			return c
		}
	}
	return 0
}

func compareJSONBElems(a, b []any) int {
	for i := range a {
		if c := compareJSONB(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// storageOrder is the order jsonb stores an object's keys in: shorter
// keys first, then bytewise.
func storageOrder(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return bytes.Compare([]byte(keys[i]), []byte(keys[j])) < 0
	})
	return keys
}

func compareJSONNumbers(a, b json.Number) int {
	x, okA := new(big.Rat).SetString(string(a))
	y, okB := new(big.Rat).SetString(string(b))
	if !okA || !okB {
		return strings.Compare(string(a), string(b))
	}
	return x.Cmp(y)
}

func compareInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
