package pgwire

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// PostgreSQL's binary formats count dates and timestamps from 2000-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1000000
)

// typeForOID maps a parameter type OID a client declared to a SQL type.
func typeForOID(oid uint32) (types.T, bool) {
	switch oid {
	case 0, 705:
		return types.UnknownT, true
	case 16:
		return types.BoolT, true
	case 21:
		return types.Int2T, true
	case 23:
		return types.Int4T, true
	case 20:
		return types.Int8T, true
	case 700:
		return types.Float4T, true
	case 701:
		return types.Float8T, true
	case 1700:
		return types.NumericT(0, types.DefaultNumericScale), true
	case 25:
		return types.TextT, true
	case 1043:
		// declared types are echoed back in ParameterDescription as given
		return types.T{Kind: types.Varchar}, true
	case 1042:
		return types.T{Kind: types.Char}, true
	case 19:
		return types.NameT, true
	case 26:
		return types.OIDT, true
	case 17:
		return types.ByteaT, true
	case 1082:
		return types.DateT, true
	case 1114:
		return types.TimestampT, true
	case 1184:
		return types.TimestampTZT, true
	case 1186:
		return types.IntervalT, true
	case 2950:
		return types.UUIDT, true
	case 114:
		return types.JSONT, true
	case 3802:
		return types.JSONBT, true
	case 869:
		return types.InetT, true
	case 2205, 2206, 4089, 4096:
		return types.OIDT, true // regclass and friends arrive as numbers
	}
	if e := types.ElemOID(oid); e != 0 {
		if et, ok := typeForOID(e); ok && et.Kind != types.Unknown {
			et.PG = 0
			return types.ArrayOf(et), true
		}
	}
	return types.T{}, false
}

// typeSize is pg_type.typlen for RowDescription.
func typeSize(t types.T) int16 {
	if t.IsRegType() {
		return 4
	}
	switch t.PG {
	case 19:
		return 64
	case 26:
		return 4
	case 18:
		return 1
	}
	switch t.Kind {
	case types.Bool:
		return 1
	case types.Int2:
		return 2
	case types.Int4, types.Float4, types.Date:
		return 4
	case types.Int8, types.Float8, types.Timestamp, types.TimestampTZ, types.Time:
		return 8
	case types.Interval, types.UUID:
		return 16
	case types.Enum:
		return 4
	}
	return -1
}

// typeModifier is the atttypmod clients see (varchar(n): n+4; numeric(p,s):
// ((p << 16) | s) + 4; otherwise -1).
func typeModifier(t types.T) int32 {
	switch t.Kind {
	case types.Varchar, types.Char:
		if t.Len > 0 {
			return t.Len + 4
		}
	case types.Numeric:
		if t.Prec > 0 {
			return (t.Prec<<16 | t.Scale) + 4
		}
	}
	return -1
}

// encodeText renders a value in PostgreSQL's text format, timestamptz in
// the session's time zone (the binary format is UTC microseconds).
func encodeText(t types.T, d types.Datum, zone *time.Location) []byte {
	return []byte(types.FormatIn(t, d, zone))
}

// canBinary reports whether Weft encodes t in binary format.
func canBinary(t types.T) bool {
	if t.IsRegType() {
		return false // the values arrive as names
	}
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Text, types.Varchar, types.Char,
		types.Bytea, types.Date, types.Timestamp, types.TimestampTZ, types.Interval, types.Numeric, types.Time, types.UUID,
		types.JSON, types.JSONB, types.Enum, types.Inet:
		return true
	case types.Array:
		return canBinary(t.ElemT())
	}
	return false
}

// encodeBinary renders a value in PostgreSQL's binary format.
func encodeBinary(t types.T, d types.Datum) ([]byte, error) {
	if t.Kind == types.Array {
		return encodeBinaryArray(t, d.([]types.Datum))
	}
	if t.IsRecord() {
		return encodeBinaryRecord(t, d.(string))
	}
	switch t.PG {
	case 26: // oid: unsigned 32-bit
		return binary.BigEndian.AppendUint32(nil, uint32(d.(int64))), nil
	case 18: // "char": one byte
		return []byte(d.(string))[:min(1, len(d.(string)))], nil
	}
	switch t.Kind {
	case types.Bool:
		if d.(bool) {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	case types.Int2:
		return binary.BigEndian.AppendUint16(nil, uint16(d.(int64))), nil
	case types.Int4:
		return binary.BigEndian.AppendUint32(nil, uint32(d.(int64))), nil
	case types.Int8:
		return binary.BigEndian.AppendUint64(nil, uint64(d.(int64))), nil
	case types.Float4:
		return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(d.(float64)))), nil
	case types.Float8:
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(d.(float64))), nil
	case types.Text, types.Varchar, types.Char, types.JSON, types.Enum:
		return []byte(d.(string)), nil
	case types.Inet:
		return encodeInet(d.(string))
	case types.JSONB: // a version byte, then the text
		return append([]byte{1}, d.(string)...), nil
	case types.Bytea, types.UUID:
		return d.([]byte), nil
	case types.Date:
		return binary.BigEndian.AppendUint32(nil, uint32(dateToWire(d.(int32)))), nil
	case types.Timestamp, types.TimestampTZ:
		return binary.BigEndian.AppendUint64(nil, uint64(timestampToWire(d.(int64)))), nil
	case types.Time:
		return binary.BigEndian.AppendUint64(nil, uint64(d.(int64))), nil
	case types.Interval:
		iv := d.(types.IntervalValue)
		b := binary.BigEndian.AppendUint64(nil, uint64(iv.Micros))
		b = binary.BigEndian.AppendUint32(b, uint32(iv.Days))
		return binary.BigEndian.AppendUint32(b, uint32(iv.Months)), nil
	case types.Numeric:
		return encodeNumeric(types.Format(t, d)), nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "binary format for %s is not supported", t)
}

// encodeNumeric writes numeric's binary form: ndigits, weight, sign, dscale
// and base-10000 digits, from the decimal text.
func encodeNumeric(s string) []byte {
	sign := uint16(0)
	if strings.HasPrefix(s, "-") {
		sign, s = 0x4000, s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	dscale := len(frac)
	// pad the integer part on the left and the fraction on the right to
	// whole groups of four digits
	intPart = strings.TrimLeft(intPart, "0")
	if pad := (4 - len(intPart)%4) % 4; pad > 0 {
		intPart = strings.Repeat("0", pad) + intPart
	}
	if pad := (4 - len(frac)%4) % 4; pad > 0 {
		frac += strings.Repeat("0", pad)
	}
	all := intPart + frac
	var digits []uint16
	for i := 0; i < len(all); i += 4 {
		var v uint16
		fmt.Sscanf(all[i:i+4], "%d", &v)
		digits = append(digits, v)
	}
	weight := len(intPart)/4 - 1
	// strip leading and trailing zero groups
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		weight, sign = 0, 0
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(len(digits)))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, uint16(dscale))
	for _, d := range digits {
		b = binary.BigEndian.AppendUint16(b, d)
	}
	return b
}

// decodeParam reads one parameter value in text (format 0) or binary; a
// text timestamptz without an offset is read in zone.
func decodeParam(t types.T, format int16, raw []byte, zone *time.Location) (types.Datum, error) {
	if raw == nil {
		return nil, nil
	}
	if t.Kind == types.Array && format == 1 {
		return decodeBinaryArray(t, raw)
	}
	if format == 0 {
		if t.Kind == types.Text || t.Kind == types.Unknown {
			return string(raw), nil
		}
		return types.ParseIn(t, string(raw), zone)
	}
	bad := func() (types.Datum, error) {
		return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter of type %s", t)
	}
	switch t.Kind {
	case types.Bool:
		if len(raw) != 1 {
			return bad()
		}
		return raw[0] != 0, nil
	case types.Int2:
		if len(raw) != 2 {
			return bad()
		}
		return int64(int16(binary.BigEndian.Uint16(raw))), nil
	case types.Int4:
		if len(raw) != 4 {
			return bad()
		}
		return int64(int32(binary.BigEndian.Uint32(raw))), nil
	case types.Int8:
		if len(raw) != 8 {
			return bad()
		}
		return int64(binary.BigEndian.Uint64(raw)), nil
	case types.Float4:
		if len(raw) != 4 {
			return bad()
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(raw))), nil
	case types.Float8:
		if len(raw) != 8 {
			return bad()
		}
		return math.Float64frombits(binary.BigEndian.Uint64(raw)), nil
	case types.Text, types.Varchar, types.Char, types.Unknown:
		return string(raw), nil
	case types.JSON, types.Enum:
		return types.Parse(t, string(raw))
	case types.Inet:
		return decodeInet(raw)
	case types.JSONB:
		if len(raw) == 0 || raw[0] != 1 {
			return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "unsupported jsonb version number")
		}
		return types.Parse(t, string(raw[1:]))
	case types.Bytea:
		return append([]byte{}, raw...), nil
	case types.UUID:
		if len(raw) != 16 {
			return bad()
		}
		return append([]byte{}, raw...), nil
	case types.Date:
		if len(raw) != 4 {
			return bad()
		}
		return dateFromWire(int32(binary.BigEndian.Uint32(raw)))
	case types.Timestamp, types.TimestampTZ:
		if len(raw) != 8 {
			return bad()
		}
		return timestampFromWire(int64(binary.BigEndian.Uint64(raw)))
	case types.Interval:
		if len(raw) != 16 {
			return bad()
		}
		return types.IntervalValue{Micros: int64(binary.BigEndian.Uint64(raw)), Days: int32(binary.BigEndian.Uint32(raw[8:])), Months: int32(binary.BigEndian.Uint32(raw[12:]))}, nil
	case types.Numeric:
		s, err := decodeNumeric(raw)
		if err != nil {
			return bad()
		}
		return types.Parse(t, s)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "binary parameters of type %s are not supported", t)
}

func decodeNumeric(raw []byte) (string, error) {
	if len(raw) < 8 {
		return "", fmt.Errorf("short numeric")
	}
	n := int(binary.BigEndian.Uint16(raw))
	weight := int(int16(binary.BigEndian.Uint16(raw[2:])))
	sign := binary.BigEndian.Uint16(raw[4:])
	if sign == 0xC000 {
		return "NaN", nil
	}
	if len(raw) != 8+2*n {
		return "", fmt.Errorf("bad numeric length")
	}
	v := new(big.Rat)
	for i := 0; i < n; i++ {
		d := int64(binary.BigEndian.Uint16(raw[8+2*i:]))
		exp := weight - i
		term := new(big.Rat).SetInt64(d)
		p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10000), big.NewInt(int64(abs(exp))), nil))
		if exp >= 0 {
			term.Mul(term, p)
		} else {
			term.Quo(term, p)
		}
		v.Add(v, term)
	}
	if sign == 0x4000 {
		v.Neg(v)
	}
	dscale := int(binary.BigEndian.Uint16(raw[6:]))
	return v.FloatString(dscale), nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// encodeBinaryArray writes a one-dimensional array in PostgreSQL's binary
// form: ndim, has-null flag, element type, then length and lower bound
// (1), then each element as length + bytes (-1 for NULL).
func encodeBinaryArray(t types.T, elems []types.Datum) ([]byte, error) {
	et := t.ElemT()
	hasNull := uint32(0)
	for _, e := range elems {
		if e == nil {
			hasNull = 1
		}
	}
	ndim := uint32(1)
	if len(elems) == 0 {
		ndim = 0
	}
	b := binary.BigEndian.AppendUint32(nil, ndim)
	b = binary.BigEndian.AppendUint32(b, hasNull)
	elemOID := et.OID()
	if t.PG != 0 {
		elemOID = types.ElemOID(t.PG) // name[] holds names
	}
	b = binary.BigEndian.AppendUint32(b, elemOID)
	if ndim == 0 {
		return b, nil
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(elems)))
	b = binary.BigEndian.AppendUint32(b, 1)
	for _, e := range elems {
		if e == nil {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff)
			continue
		}
		v, err := encodeBinary(et, e)
		if err != nil {
			return nil, err
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b, nil
}

// decodeBinaryArray reads a one-dimensional array in binary form.
func decodeBinaryArray(t types.T, raw []byte) (types.Datum, error) {
	bad := func() (types.Datum, error) {
		return nil, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in array parameter of type %s", t)
	}
	if len(raw) < 12 {
		return bad()
	}
	ndim := binary.BigEndian.Uint32(raw)
	if ndim == 0 {
		return []types.Datum{}, nil
	}
	if ndim != 1 || len(raw) < 20 {
		return bad()
	}
	n := int(binary.BigEndian.Uint32(raw[12:]))
	rest := raw[20:]
	out := make([]types.Datum, 0, min(n, len(rest)/4))
	for i := 0; i < n; i++ {
		if len(rest) < 4 {
			return bad()
		}
		l := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		if l < 0 {
			out = append(out, nil)
			continue
		}
		if int(l) > len(rest) {
			return bad()
		}
		v, err := decodeParam(t.ElemT(), 1, rest[:l], nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		rest = rest[l:]
	}
	return out, nil
}

// encodeInet writes inet's binary form: family (2 for IPv4, 3 for IPv6),
// netmask bits, is-cidr flag, address length, address bytes.
func encodeInet(s string) ([]byte, error) {
	p, err := types.InetPrefix(s)
	if err != nil {
		return nil, err
	}
	addr := p.Addr().AsSlice()
	family := byte(2)
	if p.Addr().Is6() {
		family = 3
	}
	return append([]byte{family, byte(p.Bits()), 0, byte(len(addr))}, addr...), nil
}

// decodeInet reads inet's binary form.
func decodeInet(raw []byte) (types.Datum, error) {
	bad := sqlerr.New(sqlerr.InvalidBinaryRepresentation, "invalid binary inet value")
	if len(raw) < 4 || int(raw[3]) != len(raw)-4 || (raw[3] != 4 && raw[3] != 16) {
		return nil, bad
	}
	addr, ok := netip.AddrFromSlice(raw[4:])
	if !ok || int(raw[1]) > addr.BitLen() {
		return nil, bad
	}
	return types.FormatInet(netip.PrefixFrom(addr, int(raw[1]))), nil
}

// encodeBinaryRecord is PostgreSQL's binary record (record_send): the
// field count, then each field's type OID and length-prefixed binary
// value (length -1 for NULL). Fields of unknown type go as text.
func encodeBinaryRecord(t types.T, text string) ([]byte, error) {
	parts, err := types.ParseRecord(text)
	if err != nil {
		return nil, err
	}
	fields := t.RecordFields()
	out := binary.BigEndian.AppendUint32(nil, uint32(len(parts)))
	for i, p := range parts {
		ft := types.TextT
		if i < len(fields) && canBinary(fields[i].T) {
			ft = fields[i].T
		}
		out = binary.BigEndian.AppendUint32(out, ft.OID())
		if p == nil {
			out = binary.BigEndian.AppendUint32(out, 0xFFFFFFFF)
			continue
		}
		d, err := types.Parse(ft, *p)
		if err != nil {
			return nil, fmt.Errorf("record field %d: %w", i+1, err)
		}
		v, err := encodeBinary(ft, d)
		if err != nil {
			return nil, err
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	return out, nil
}

// PostgreSQL's binary dates count days, and its timestamps microseconds,
// from 2000-01-01; infinity and -infinity are the extremes of the integer
// there as they are in Weft, so they map to each other unshifted.

func dateToWire(d int32) int32 {
	if !types.DateIsFinite(d) {
		return d
	}
	return d - pgEpochDays
}

func dateFromWire(v int32) (types.Datum, error) {
	if v == types.DateNegInfinity || v == types.DatePosInfinity {
		return v, nil
	}
	d := int64(v) + pgEpochDays
	if !types.DateInRange(d) {
		return nil, types.DateOutOfRange()
	}
	return int32(d), nil
}

func timestampToWire(us int64) int64 {
	if !types.TimestampIsFinite(us) {
		return us
	}
	return us - pgEpochMicros
}

// timestampFromWire reads a binary timestamp; a finite one past Weft's
// range (PostgreSQL's reaches 30 years further) is out of range.
func timestampFromWire(v int64) (types.Datum, error) {
	if v == types.TimestampNegInfinity || v == types.TimestampPosInfinity {
		return v, nil
	}
	if v > math.MaxInt64-pgEpochMicros {
		return nil, types.TimestampOutOfRange()
	}
	return types.CheckTimestamp(v + pgEpochMicros)
}
