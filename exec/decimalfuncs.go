package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/types"
)

// numericSig is sig with a whole-array kernel in place of a per-row
// function.
func numericSig(name string, params []types.T, ret types.T, k Kernel) *ScalarDef {
	return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != len(params) || !castableAll(args, params) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return params, ret, k, nil
	}}
}

// roundNumericKernel is round(numeric [, int]) or, with trunc, trunc: the
// argument arrives at the default scale, the result keeps it (as
// scaleNumeric, the per-row reference and fallback, does).
func roundNumericKernel(trunc bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		vals, s := decimalValues(args[0]), decimalScale(args[0])
		var places []int32
		if len(args) > 1 {
			places = values[int32](args[1])
		}
		validity, nulls := combineValidity(ec.Mem, n, args...)
		var valid []bool
		if nulls > 0 {
			valid = validMask(n, args...)
		}
		buf, out := allocDecimals(ec.Mem, n)
		for i := range out {
			if valid != nil && !valid[i] {
				out[i] = decimal128.Num{}
				continue
			}
			digits := int64(0)
			if places != nil {
				digits = int64(places[i])
			}
			r, ok := roundDecimal(vals[i], s, digits, trunc)
			if !ok || s != types.DefaultNumericScale {
				d, err := scaleNumeric([]types.Datum{vals[i], digits}, trunc)
				if err != nil {
					releaseBuffers(buf, validity)
					return nil, err
				}
				r = d.(decimal128.Num)
			}
			out[i] = r
		}
		return makeArray(types.NumericT(0, types.DefaultNumericScale).Arrow(), n, validity, buf, nulls), nil
	}
}

// roundDecimal rounds (half away from zero) or truncates v at scale s to
// digits fraction digits (negative: to tens, hundreds …), keeping scale s.
func roundDecimal(v decimal128.Num, s int32, digits int64, trunc bool) (decimal128.Num, bool) {
	drop := int64(s) - digits
	switch {
	case drop <= 0:
		return v, true
	case drop > 40:
		return decimal128.Num{}, true // every digit goes: |v| < 10^38
	}
	neg, m := magnitude(v)
	if trunc {
		m = m.scaleDownTrunc(int(drop))
	} else {
		m = m.scaleDownRound(int(drop))
	}
	m, ok := m.scaleUp(int(drop))
	if !ok || !m.less(maxNumeric) {
		return v, false
	}
	return signed(neg && (m != u128{}), m), true
}

// absNumericKernel is abs(numeric): a magnitude below 10^38 always fits.
func absNumericKernel(t types.T) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		vals := decimalValues(args[0])
		validity, nulls := combineValidity(ec.Mem, n, args[0])
		buf, out := allocDecimals(ec.Mem, n)
		for i, v := range vals {
			_, m := magnitude(v)
			out[i] = signed(false, m)
		}
		return makeArray(t.Arrow(), n, validity, buf, nulls), nil
	}
}
