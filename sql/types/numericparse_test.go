package types

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestParseNumericFastMatchesExact reads random decimal strings (signs,
// leading zeros, fractions longer and shorter than the scale, ties, values
// at the edge of the precision and of int64) with the fast reader and checks
// each it accepts against the exact big.Rat reading.
func TestParseNumericFastMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	fixed := []string{"0", "-0", "0.5", "-0.5", "1.005", "-1.005", "9223372036854775807", "922337203685477580.75",
		"99999.995", "-99999.995", "12", "12.", ".5", "+3", "1e5", "NaN", "1_0", "--1", "1.2.3", "-", ""}
	types := []T{NumericT(0, 0), NumericT(15, 2), NumericT(10, 4), NumericT(5, 2), NumericT(0, 16), NumericT(18, 0), NumericT(38, 10)}
	accepted := 0
	for _, typ := range types {
		inputs := append([]string(nil), fixed...)
		for range 3000 {
			s := digits(1 + rng.IntN(20))
			if rng.IntN(2) == 0 {
				s += "." + digits(1+rng.IntN(20))
			}
			if rng.IntN(3) == 0 {
				s = "-" + s
			}
			inputs = append(inputs, s)
		}
		for _, s := range inputs {
			got, ok := parseNumericFast(typ, s)
			if !ok {
				continue
			}
			accepted++
			r, valid := new(big.Rat).SetString(s)
			if !valid {
				t.Fatalf("%s: fast path read %q, which is not a number", typ, s)
			}
			want, err := RatToNumeric(r, typ)
			if err != nil {
				t.Fatalf("%s: fast path read %q, the exact path fails: %v", typ, s, err)
			}
			if got != want {
				t.Fatalf("%s: %q: got %s, want %s", typ, s, Format(typ, got), Format(typ, want))
			}
		}
	}
	if accepted < 5000 {
		t.Fatalf("fast path took only %d inputs", accepted)
	}
}
