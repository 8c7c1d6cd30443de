package exec

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// byteaVariants are the bytea forms of string functions PostgreSQL also
// defines on bytea: substr/substring by position, md5, btrim/ltrim/rtrim
// with a set of bytes, position, get_byte and set_byte. A call with
// a bytea argument takes these; any other call the text function.
func byteaVariants() []*ScalarDef {
	b, i4 := types.ByteaT, types.Int4T
	return []*ScalarDef{
		overloads("substr", sig("substr", []types.T{b, i4, i4}, b, byteaSubstr), sig("substr", []types.T{b, i4}, b, byteaSubstr)),
		overloads("substring", sig("substring", []types.T{b, i4, i4}, b, byteaSubstr), sig("substring", []types.T{b, i4}, b, byteaSubstr)),
		sig("md5", []types.T{b}, types.TextT, func(ds []types.Datum) (types.Datum, error) {
			h := md5.Sum(ds[0].([]byte))
			return hex.EncodeToString(h[:]), nil
		}),
		sig("btrim", []types.T{b, b}, b, byteaTrim(true, true)),
		sig("ltrim", []types.T{b, b}, b, byteaTrim(true, false)),
		sig("rtrim", []types.T{b, b}, b, byteaTrim(false, true)),
		sig("position", []types.T{b, b}, i4, byteaPosition),
		sig("get_byte", []types.T{b, i4}, i4, func(ds []types.Datum) (types.Datum, error) {
			v, n := ds[0].([]byte), ds[1].(int64)
			if n < 0 || n >= int64(len(v)) {
				return nil, byteIndexError(n, len(v))
			}
			return int64(v[n]), nil
		}),
		sig("set_byte", []types.T{b, i4, i4}, b, func(ds []types.Datum) (types.Datum, error) {
			v, n := ds[0].([]byte), ds[1].(int64)
			if n < 0 || n >= int64(len(v)) {
				return nil, byteIndexError(n, len(v))
			}
			out := bytes.Clone(v)
			out[n] = byte(ds[2].(int64))
			return out, nil
		}),
	}
}

// withByteaVariant is text for calls without a bytea argument and bytea's
// variant for calls with one.
func withByteaVariant(text, bytea *ScalarDef) *ScalarDef {
	return &ScalarDef{Name: bytea.Name, Volatile: text != nil && text.Volatile, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		for _, a := range args {
			if a.Kind == types.Bytea {
				return bytea.Resolve(args)
			}
		}
		if text == nil {
			return nil, types.T{}, nil, NoSuchFunction(bytea.Name, args)
		}
		return text.Resolve(args)
	}}
}

// byteaSubstr is substr(bytes, start [, count]) counting bytes from 1; a
// negative count is an error, a start before 1 shortens the count.
func byteaSubstr(ds []types.Datum) (types.Datum, error) {
	v := ds[0].([]byte)
	lo, hi, err := substrBounds(len(v), ds)
	if err != nil {
		return nil, err
	}
	if hi == lo {
		return []byte{}, nil
	}
	return bytes.Clone(v[lo:hi]), nil
}

// byteaTrim removes the bytes of the set (second argument) from the
// start and/or end.
func byteaTrim(left, right bool) func([]types.Datum) (types.Datum, error) {
	return func(ds []types.Datum) (types.Datum, error) {
		v, set := ds[0].([]byte), ds[1].([]byte)
		inSet := func(c byte) bool { return bytes.IndexByte(set, c) >= 0 }
		lo, hi := 0, len(v)
		for left && lo < hi && inSet(v[lo]) {
			lo++
		}
		for right && hi > lo && inSet(v[hi-1]) {
			hi--
		}
		return bytes.Clone(v[lo:hi]), nil
	}
}

// byteaPosition is where the second bytes first occur in the first (1-based,
// 0 when absent). The grammar turns position(x IN y) into position(y, x).
func byteaPosition(ds []types.Datum) (types.Datum, error) {
	return int64(bytes.Index(ds[0].([]byte), ds[1].([]byte)) + 1), nil
}

func byteIndexError(n int64, size int) error {
	return sqlerr.New(sqlerr.ArraySubscriptError, "index %d out of valid range, 0..%d", n, size-1)
}
