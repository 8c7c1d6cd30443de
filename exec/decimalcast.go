package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// castNumericFast converts whole arrays between numeric and numeric (of
// another scale or precision), integers and numeric, and numeric and
// float8 on scaled integers; ok is false for the casts it does not cover.
// A value the fixed-point path cannot decide (an overflow) goes through
// CastDatumIn, which gives the exact value or PostgreSQL's error.
func castNumericFast(ec *EvalContext, a arrow.Array, from, to types.T, explicit bool) (arrow.Array, bool, error) {
	if dt, isDec := a.DataType().(*arrow.Decimal128Type); from.Kind == types.Numeric && (!isDec || dt.Scale != from.Scale) {
		return nil, false, nil
	}
	if id := a.DataType().ID(); from.IsInteger() && id != arrow.INT16 && id != arrow.INT32 && id != arrow.INT64 {
		return nil, false, nil
	}
	exact := func(i int) (types.Datum, error) {
		return CastDatumIn(DatumAt(a, i), from, to, explicit, ec.Env.TimeZone())
	}
	switch {
	case from.Kind == types.Numeric && to.Kind == types.Numeric:
		vals, prec := decimalValues(a), numericPrecision(to)
		out, err := castToDecimals(ec.Mem, a, to, exact, func(i int) (decimal128.Num, bool) {
			v, ok := rescale(vals[i], from.Scale, to.Scale)
			return v, ok && (prec == types.MaxNumericPrecision || fitsPrecision(v, prec))
		})
		return out, true, err
	case from.IsInteger() && to.Kind == types.Numeric:
		ints, prec := intsOf(a), numericPrecision(to)
		out, err := castToDecimals(ec.Mem, a, to, exact, func(i int) (decimal128.Num, bool) {
			v, ok := rescale(decimal128.FromI64(ints[i]), 0, to.Scale)
			return v, ok && fitsPrecision(v, prec)
		})
		return out, true, err
	case from.Kind == types.Numeric && to.Kind == types.Int2:
		out, err := castDecimalToInt[int16](ec.Mem, a, from, to, exact)
		return out, true, err
	case from.Kind == types.Numeric && to.Kind == types.Int4:
		out, err := castDecimalToInt[int32](ec.Mem, a, from, to, exact)
		return out, true, err
	case from.Kind == types.Numeric && to.Kind == types.Int8:
		out, err := castDecimalToInt[int64](ec.Mem, a, from, to, exact)
		return out, true, err
	case from.Kind == types.Numeric && to.Kind == types.Float8:
		out, err := castDecimalToFloat8(ec.Mem, a, from, exact)
		return out, true, err
	}
	return nil, false, nil
}

// numericPrecision is the precision a numeric type checks values against.
func numericPrecision(t types.T) int32 {
	if t.Prec > 0 {
		return t.Prec
	}
	return types.MaxNumericPrecision
}

// castToDecimals builds a numeric array of type to from fast(i), or from
// exact(i) for the rows fast cannot decide; NULL rows stay NULL.
func castToDecimals(mem memory.Allocator, a arrow.Array, to types.T, exact func(int) (types.Datum, error), fast func(int) (decimal128.Num, bool)) (arrow.Array, error) {
	n := a.Len()
	validity, nulls := combineValidity(mem, n, a)
	buf, out := allocDecimals(mem, n)
	for i := range out {
		if nulls > 0 && a.IsNull(i) {
			out[i] = decimal128.Num{}
			continue
		}
		v, ok := fast(i)
		if !ok {
			d, err := exact(i)
			if err != nil {
				releaseBuffers(buf, validity)
				return nil, err
			}
			v = d.(decimal128.Num)
		}
		out[i] = v
	}
	return makeArray(to.Arrow(), n, validity, buf, nulls), nil
}

// castDecimalToInt rounds numerics half away from zero to an integer type.
func castDecimalToInt[T int16 | int32 | int64](mem memory.Allocator, a arrow.Array, from, to types.T, exact func(int) (types.Datum, error)) (arrow.Array, error) {
	n := a.Len()
	vals := decimalValues(a)
	validity, nulls := combineValidity(mem, n, a)
	buf, out := allocFixed[T](mem, n)
	for i := range out {
		if nulls > 0 && a.IsNull(i) {
			out[i] = 0
			continue
		}
		r, _ := rescale(vals[i], from.Scale, 0) // scaling down never fails
		x := int64(r.LowBits())
		if r.HighBits() != x>>63 || !types.IntFits(to, x) {
			d, err := exact(i) // out of range: the exact path gives the error
			if err != nil {
				releaseBuffers(buf, validity)
				return nil, err
			}
			x = d.(int64)
		}
		out[i] = T(x)
	}
	return makeArray(to.Arrow(), n, validity, buf, nulls), nil
}

// castDecimalToFloat8 converts numerics to the nearest float8.
func castDecimalToFloat8(mem memory.Allocator, a arrow.Array, from types.T, exact func(int) (types.Datum, error)) (arrow.Array, error) {
	n := a.Len()
	vals := decimalValues(a)
	validity, nulls := combineValidity(mem, n, a)
	buf, out := allocFixed[float64](mem, n)
	for i := range out {
		if nulls > 0 && a.IsNull(i) {
			out[i] = 0
			continue
		}
		f, ok := decimalToFloat64(vals[i], from.Scale)
		if !ok {
			d, err := exact(i)
			if err != nil {
				releaseBuffers(buf, validity)
				return nil, err
			}
			f = d.(float64)
		}
		out[i] = f
	}
	return makeArray(arrow.PrimitiveTypes.Float64, n, validity, buf, nulls), nil
}

// releaseBuffers gives back a kernel's output buffers when it fails.
func releaseBuffers(bufs ...*memory.Buffer) {
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}
