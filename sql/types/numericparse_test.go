package types

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
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

// TestFormatNumericMatchesBig prints random decimals, near zero, near the
// int64 edge and up to 38 digits, and checks the text against the digits
// of the big.Int with the point placed by hand.
func TestFormatNumericMatchesBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := []*big.Int{big.NewInt(0), big.NewInt(-1), big.NewInt(1), big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64),
		new(big.Int).Sub(big.NewInt(math.MinInt64), big.NewInt(1)), new(big.Int).Exp(big.NewInt(10), big.NewInt(37), nil)}
	for range 3000 {
		v, _ := new(big.Int).SetString(strconv.FormatUint(rng.Uint64(), 10)+strconv.FormatUint(rng.Uint64()%1e18, 10), 10)
		v.Rsh(v, uint(rng.IntN(120)))
		if rng.IntN(2) == 0 {
			v.Neg(v)
		}
		values = append(values, v)
	}
	for _, v := range values {
		for _, scale := range []int32{0, 1, 2, 16, 30, 38} {
			abs := new(big.Int).Abs(v).String()
			want := abs
			if scale > 0 {
				padded := strings.Repeat("0", max(0, int(scale)+1-len(abs))) + abs
				want = padded[:len(padded)-int(scale)] + "." + padded[len(padded)-int(scale):]
			}
			if v.Sign() < 0 {
				want = "-" + want
			}
			if got := FormatNumeric(decimal128.FromBigInt(v), scale); got != want {
				t.Fatalf("%s at scale %d: got %s, want %s", v, scale, got, want)
			}
		}
	}
}
