package difftest

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/weftdb/weft/pgsource/pgtest"
)

// TestDifferential runs a fixed range of seeds against a real PostgreSQL
// 15 and fails on any answer that differs, printing each shrunk. `make
// difftest` runs the same for as long as asked, from other seeds.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the differential test needs a PostgreSQL server")
	}
	url := pgtest.Start(t)
	var log strings.Builder
	// a fixed number of seeds, not a time: under a time limit how many
	// seeds ran (and so which queries were checked, and whether the 1,000
	// below were reached) depended on the machine's load
	rep, err := Run(Config{URL: url, FirstSeed: 1, Seeds: 40, Queries: 50, Log: &log, UDFDir: "../testdata/udf/wasm"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.String())
	if rep.Queries < 1000 {
		t.Errorf("only %d queries ran", rep.Queries)
	}
	if rep.Agreed < rep.Queries*9/10 {
		t.Errorf("only %d of %d queries agreed", rep.Agreed, rep.Queries)
	}
	if rep.MetamorphicChecks == 0 {
		t.Error("no metamorphic check ran")
	}
	if len(rep.Mismatches) > 0 {
		t.Errorf("%d mismatches:\n%s", len(rep.Mismatches), log.String())
	}
}

func str(s string) *string { return &s }

func TestCompare(t *testing.T) {
	rows := func(vals ...string) answer {
		var a answer
		for _, v := range vals {
			if v == "NULL" {
				a.rows = append(a.rows, []*string{nil})
			} else {
				a.rows = append(a.rows, []*string{str(v)})
			}
		}
		return a
	}
	floats := func(a answer) answer { a.float = []bool{true}; return a }
	intervals := func(a answer) answer { a.interval = []bool{true}; return a }
	tests := []struct {
		name    string
		pg, wf  answer
		ordered bool
		class   string
	}{
		{"same rows in another order", rows("1", "2", "NULL"), rows("NULL", "2", "1"), false, ""},
		{"order matters when fixed", rows("1", "2"), rows("2", "1"), true, "order differs"},
		{"a missing row", rows("1", "1"), rows("1"), false, "rows differ"},
		{"NULL is not the text NULL", rows("NULL"), rows("x"), false, "rows differ"},
		{"floats within rounding", floats(rows("0.30000000000000004")), rows("0.3"), false, ""},
		{"floats that differ", floats(rows("0.31")), rows("0.3"), false, "rows differ"},
		{"numeric scale counts", rows("4.0"), rows("4.00"), false, "rows differ"},
		{"negative zero is zero", floats(rows("-0", "0")), rows("0", "-0"), true, ""},
		{"equal intervals in either order", intervals(rows("-60 days", "-59 days -24:00:00")), rows("-59 days -24:00:00", "-60 days"), true, ""},
		{"interval text still counts", intervals(rows("-61 days +01:30:00")), rows("-61 days 01:30:00"), false, "rows differ"},
		{"same error class", answer{code: "22012"}, answer{code: "22003"}, false, ""},
		{"other error class", answer{code: "22012"}, answer{code: "42883"}, false, "error class 42 where PostgreSQL gives 22"},
		{"error only in weft", rows("1"), answer{code: "XX000"}, false, "error XX000 where PostgreSQL answers"},
		{"error only in postgres", answer{code: "42601"}, rows("1"), false, "no error where PostgreSQL gives 42601"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if class, _ := compare(tt.pg, tt.wf, tt.ordered, false); class != tt.class {
				t.Errorf("class %q, want %q", class, tt.class)
			}
		})
	}
}

// TestCandidatesShrink checks that every shrinking step gives a query of
// the same seed that is shorter and still well formed enough to print.
func TestCandidatesShrink(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	s := genSchema(r)
	qg := &queryGen{r: r, s: s}
	for i := 0; i < 200; i++ {
		q := qg.gen()
		for _, c := range q.candidates() {
			if len(c.String()) >= len(q.String()) && c.orderAll == q.orderAll && !q.distinctOn {
				t.Fatalf("candidate is not smaller:\n%s\n%s", q, c)
			}
			if len(c.items) == 0 {
				t.Fatalf("candidate without select items: %s", c)
			}
		}
	}
}

// TestGeneratedDataHasMixedBatches checks the data generator makes what
// the tester exists for: tables filled by several statements, with NULLs
// in some of them and not in others.
func TestGeneratedDataHasMixedBatches(t *testing.T) {
	mixed := 0
	for seed := int64(1); seed <= 50; seed++ {
		s := genSchema(rand.New(rand.NewSource(seed)))
		withNulls, without := map[string]bool{}, map[string]bool{}
		for _, in := range s.inserts {
			if strings.Contains(strings.Join(in.rows, ","), "NULL") {
				withNulls[in.table] = true
			} else {
				without[in.table] = true
			}
		}
		for tbl := range withNulls {
			if without[tbl] {
				mixed++
			}
		}
	}
	if mixed < 20 {
		t.Errorf("only %d tables over 50 seeds mix batches with and without NULLs", mixed)
	}
}

func TestCopyFields(t *testing.T) {
	in := insert{table: "t", rows: []string{"(1, 'a, b', NULL, DATE '2024-01-02', 'it''s', INTERVAL '1 day', true)"}}
	got := in.copyRows()[0]
	want := []string{"1", "a, b", "<nil>", "2024-01-02", "it's", "1 day", "true"}
	for i, f := range got {
		s := "<nil>"
		if f != nil {
			s = *f
		}
		if s != want[i] {
			t.Errorf("field %d: %q, want %q", i, s, want[i])
		}
	}
}
