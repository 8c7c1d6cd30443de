package tpch

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// small is scale factor 0.01, generated once for the package's tests (a
// process can generate only once): each table's file text.
var small struct {
	once  sync.Once
	files map[string][]byte
	err   error
}

func smallFiles(t *testing.T) map[string][]byte {
	t.Helper()
	small.once.Do(func() {
		bufs := map[string]*bytes.Buffer{}
		out := map[string]io.Writer{}
		for _, name := range TableNames {
			bufs[name] = &bytes.Buffer{}
			out[name] = bufs[name]
		}
		small.err = Generate(0.01, out)
		small.files = map[string][]byte{}
		for name, b := range bufs {
			small.files[name] = b.Bytes()
		}
	})
	if small.err != nil {
		t.Fatal(small.err)
	}
	return small.files
}

// splitRows splits a table file into rows of fields.
func splitRows(text []byte) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSuffix(string(text), "\n"), "\n") {
		rows = append(rows, strings.Split(l, "|"))
	}
	return rows
}

// generateSmall returns scale factor 0.01's rows, one table per key.
func generateSmall(t *testing.T) map[string][][]string {
	t.Helper()
	rows := map[string][][]string{}
	for name, text := range smallFiles(t) {
		rows[name] = splitRows(text)
	}
	return rows
}

// TestGenerate generates once (dbgen's text pool alone takes seconds) and
// checks the rows in subtests.
func TestGenerate(t *testing.T) {
	rows := generateSmall(t)
	t.Run("shapes", func(t *testing.T) { checkShapes(t, rows) })
	t.Run("keys dense", func(t *testing.T) { checkKeysDense(t, rows) })
	t.Run("totals", func(t *testing.T) { checkTotals(t, rows) })
}

func checkShapes(t *testing.T, rows map[string][][]string) {
	counts, err := RowCounts(0.01)
	if err != nil {
		t.Fatal(err)
	}
	columns := map[string]int{"region": 3, "nation": 4, "part": 9, "supplier": 7, "partsupp": 5,
		"customer": 8, "orders": 9, "lineitem": 16}
	for _, name := range TableNames {
		if want, ok := counts[name]; ok && int64(len(rows[name])) != want {
			t.Errorf("%s: %d rows, want %d", name, len(rows[name]), want)
		}
		for i, r := range rows[name] {
			if len(r) != columns[name] {
				t.Fatalf("%s row %d has %d fields, want %d: %q", name, i, len(r), columns[name], r)
			}
		}
	}
	// Rows that need no folding equal the official dbgen's (its first
	// customer and supplier at any scale).
	wantFirst := map[string]string{
		"customer": "1|Customer#000000001|IVhzIApeRb ot,c,E|15|25-989-741-2988|711.56|BUILDING|to the even, regular platelets. regular, ironic epitaphs nag e",
		"supplier": "1|Supplier#000000001| N kD4on9OM Ipw3,gf0JBoQDd7tgrzrddZ|17|27-918-335-1736|5755.94|each slyly above the careful",
		"region":   "0|AFRICA|lar deposits. blithely final packages cajole. regular waters are final requests. regular accounts are according to ",
	}
	for name, want := range wantFirst {
		if got := strings.Join(rows[name][0], "|"); got != want {
			t.Errorf("first %s row:\n got %s\nwant %s", name, got, want)
		}
	}
}

// checkKeysDense checks that every foreign key of the cut data points
// at a generated row, so the TPC-H joins lose no rows.
func checkKeysDense(t *testing.T, rows map[string][][]string) {
	keySet := func(table string, cols ...int) map[string]bool {
		set := map[string]bool{}
		for _, r := range rows[table] {
			var k []string
			for _, c := range cols {
				k = append(k, r[c])
			}
			set[strings.Join(k, "|")] = true
		}
		return set
	}
	checks := []struct {
		child     string
		childCols []int
		parent    string
		keyCols   []int
	}{
		{"nation", []int{2}, "region", []int{0}},
		{"supplier", []int{3}, "nation", []int{0}},
		{"customer", []int{3}, "nation", []int{0}},
		{"partsupp", []int{0}, "part", []int{0}},
		{"partsupp", []int{1}, "supplier", []int{0}},
		{"orders", []int{1}, "customer", []int{0}},
		{"lineitem", []int{0}, "orders", []int{0}},
		{"lineitem", []int{1, 2}, "partsupp", []int{0, 1}},
	}
	for _, c := range checks {
		parents := keySet(c.parent, c.keyCols...)
		if len(parents) != len(rows[c.parent]) {
			t.Errorf("%s: key %v not unique", c.parent, c.keyCols)
		}
		for _, r := range rows[c.child] {
			var k []string
			for _, col := range c.childCols {
				k = append(k, r[col])
			}
			if !parents[strings.Join(k, "|")] {
				t.Fatalf("%s %v = %v has no %s row", c.child, c.childCols, k, c.parent)
			}
		}
	}
	for _, o := range rows["orders"] {
		if ck, _ := strconv.Atoi(o[1]); ck%3 == 0 {
			t.Fatalf("order %s has customer %d, a multiple of 3 (those place no orders)", o[0], ck)
		}
	}
}

// checkTotals checks that the extended prices and order totals
// follow the folded part keys as the spec defines them.
func checkTotals(t *testing.T, rows map[string][][]string) {
	cents := func(s string) int64 {
		v, err := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
		if err != nil {
			t.Fatalf("money %q: %v", s, err)
		}
		return v
	}
	price := map[string]int64{}
	for _, p := range rows["part"] {
		price[p[0]] = cents(p[7])
	}
	totals := map[string]int64{}
	for _, l := range rows["lineitem"] {
		qty, _ := strconv.ParseInt(l[4], 10, 64)
		ext := cents(l[5])
		if ext != price[l[1]]*qty {
			t.Fatalf("lineitem %s/%s: extended price %d, want retail %d * %d", l[0], l[3], ext, price[l[1]], qty)
		}
		totals[l[0]] += ((ext * (100 - cents(l[6]))) / 100) * (100 + cents(l[7])) / 100
	}
	for _, o := range rows["orders"] {
		if got := cents(o[3]); got != totals[o[0]] {
			t.Fatalf("order %s: total %d, want %d", o[0], got, totals[o[0]])
		}
	}
}

func TestScaleFactorErrors(t *testing.T) {
	for _, sf := range []float64{0, -1, 1.5} {
		if err := Generate(sf, nil); err == nil {
			t.Errorf("scale factor %v: no error", sf)
		}
	}
}

// TestGenerateOnce checks that a second generation in the process is
// refused rather than yielding data other than dbgen's.
func TestGenerateOnce(t *testing.T) {
	smallFiles(t)
	out := map[string]io.Writer{}
	for _, name := range TableNames {
		out[name] = io.Discard
	}
	if err := Generate(0.01, out); !errors.Is(err, ErrGeneratedBefore) {
		t.Fatalf("second Generate = %v, want ErrGeneratedBefore", err)
	}
}
