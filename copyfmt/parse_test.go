package copyfmt

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/types"
)

// TestPlainParsersAgreeWithInput checks that whenever a COPY fast parser
// accepts a field, it gives what the types' general input gives, on edge
// cases and random spellings; and that it accepts the plain forms.
func TestPlainParsersAgreeWithInput(t *testing.T) {
	num := types.NumericT(15, 2)
	wide := types.NumericT(0, 4) // unconstrained, computed at scale 4
	wide.Natural = true
	cases := []string{"0", "-0", "+5", "12", "12.3", "12.345", "12.355", "-12.355", "-0.005", "0.004", "9999999999999.99",
		"9999999999999.995", "10000000000000", "99999999999999.99", ".5", "5.", "1e3", " 1", "1 ", "", "-", "+", "00012.10",
		"123456789012345678", "1234567890123456789", "1.2.3", "NaN", "١٢"}
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 3000; i++ {
		cases = append(cases, fmt.Sprintf("%d.%0*d", rng.Int63n(1e15)-5e14, 1+rng.Intn(5), rng.Intn(100000)))
	}
	for _, f := range cases {
		for _, tt := range []types.T{num, wide} {
			got, ok := parsePlainDecimal([]byte(f), tt.Prec, tt.Scale)
			want, err := types.ParseIn(tt, f, nil)
			if ok && (err != nil || decimal128.FromI64(got) != want.(decimal128.Num)) {
				t.Errorf("%s %q: fast %v, input %v (%v)", tt, f, got, want, err)
			}
		}
		for _, tt := range []types.T{types.Int2T, types.Int4T, types.Int8T} {
			got, ok := parsePlainInt([]byte(f))
			ok = ok && types.IntFits(tt, got)
			want, err := types.ParseIn(tt, f, nil)
			if ok && (err != nil || want != got) {
				t.Errorf("%s %q: fast %v, input %v (%v)", tt, f, got, want, err)
			}
		}
	}
	for _, f := range []string{"12", "-7", "12.3", "12.345", "0.00"} {
		if _, ok := parsePlainDecimal([]byte(f), 15, 2); !ok {
			t.Errorf("numeric %q took the slow path", f)
		}
	}
	dates := []string{"1970-01-01", "1969-12-31", "2000-02-29", "1900-02-29", "2024-02-29", "2023-02-29", "0001-01-01",
		"9999-12-31", "1996-13-01", "1996-00-10", "1996-04-31", "1996-4-01", "1996-04-01 ", "epoch", "1996/04/01"}
	for y := 1890; y < 2110; y += 3 {
		for m := 1; m <= 12; m++ {
			dates = append(dates, fmt.Sprintf("%04d-%02d-%02d", y, m, 1+rng.Intn(31)))
		}
	}
	for _, f := range dates {
		got, ok := parsePlainDate([]byte(f))
		want, err := types.ParseIn(types.DateT, f, nil)
		if ok && (err != nil || want != got) {
			t.Errorf("date %q: fast %v, input %v (%v)", f, got, want, err)
		}
		if !ok && err == nil && len(f) == 10 && f[4] == '-' {
			t.Errorf("date %q took the slow path", f)
		}
	}
}
