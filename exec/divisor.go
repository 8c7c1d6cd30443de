package exec

import "math/bits"

// constDivisor divides int64 values by one divisor fixed for a whole
// batch (x % 3, id / 1000) with a multiply and shifts instead of a
// hardware division per row, which costs tens of cycles: the
// round-up method with a 64-bit magic number and an add fix-up, exact
// for every 64-bit dividend. Quotients truncate toward zero and
// remainders take the dividend's sign, as Go's / and % (and
// PostgreSQL's) do.
type constDivisor struct {
	d     int64  // the divisor; never 0 or -1 (the callers' slow path handles them)
	abs   uint64 // |d|
	magic uint64 // for a divisor that is not a power of two
	shift uint   // log2|d| for a power of two, else ceil(log2|d|) - 1
	pow2  bool
	neg   bool
}

func newConstDivisor(d int64) constDivisor {
	c := constDivisor{d: d, neg: d < 0}
	c.abs = uint64(d)
	if c.neg {
		c.abs = -c.abs
	}
	if c.abs&(c.abs-1) == 0 {
		c.pow2, c.shift = true, uint(bits.TrailingZeros64(c.abs))
		return c
	}
	l := uint(bits.Len64(c.abs - 1)) // ceil(log2|d|), at most 63 here
	// magic = floor(2^64 * (2^l - |d|) / |d|) + 1
	q, _ := bits.Div64((uint64(1)<<l)-c.abs, 0, c.abs)
	c.magic, c.shift = q+1, l-1
	return c
}

// udiv is n / |d| for an unsigned n.
func (c *constDivisor) udiv(n uint64) uint64 {
	if c.pow2 {
		return n >> c.shift
	}
	t, _ := bits.Mul64(c.magic, n)
	return (t + (n-t)>>1) >> c.shift
}

// quo is x / d truncated toward zero.
func (c *constDivisor) quo(x int64) int64 {
	s := x >> 63 // -1 for a negative x, else 0
	n := uint64((x ^ s) - s)
	q := int64(c.udiv(n))
	if c.neg {
		s = ^s
	}
	return (q ^ s) - s
}

// rem is x % d, with x's sign.
func (c *constDivisor) rem(x int64) int64 {
	s := x >> 63
	n := uint64((x ^ s) - s)
	r := int64(n - c.udiv(n)*c.abs)
	return (r ^ s) - s
}

// uniformDivisor returns the value every row of b holds, when it is one
// a constDivisor handles (not 0 or -1); ok is false otherwise. A divisor
// is nearly always a constant, and a scan of b costs far less than the
// divisions it saves.
func uniformDivisor[T int16 | int32 | int64](b []T) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	d := b[0]
	if d == 0 || d == -1 {
		return 0, false
	}
	for _, y := range b {
		if y != d {
			return 0, false
		}
	}
	return int64(d), true
}
