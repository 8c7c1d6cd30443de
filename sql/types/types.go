// Package types maps SQL types to Arrow types and PostgreSQL OIDs, and
// converts single values (datums) to and from their PostgreSQL text form.
package types

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the family of a SQL type.
type Kind uint8

const (
	Unknown Kind = iota // the type of an untyped NULL or string literal
	Bool
	Int2
	Int4
	Int8
	Float4
	Float8
	Numeric
	Text
	Varchar
	Char
	Bytea
	Date
	Time
	Timestamp
	TimestampTZ
	Interval
	UUID  // 16 bytes, kept as an Arrow binary value
	Array // one-dimensional; Elem is the element kind, Prec/Scale/Len its modifiers
	JSON  // json: the text as given, checked to be JSON
	JSONB // jsonb: the text normalized (keys sorted and unique, PostgreSQL's spacing)
	Enum  // a user-defined enum: the label as text, ordered by the label's position
	Inet  // an IPv4 or IPv6 host address with optional netmask, as text
)

// T is a SQL type. Len is the declared length of varchar(n)/char(n) (0 =
// unbounded); Prec and Scale describe numeric (Prec 0 = unconstrained, in
// which case Scale is still the fixed scale the engine computes with).
type T struct {
	Kind  Kind
	Prec  int32
	Scale int32
	Len   int32
	// PG, when set, is the PostgreSQL type clients are told a value has
	// instead of its kind's own: name (19, a text), oid (26, a bigint) or
	// "char" (18, a text). The catalog views use them so drivers see the
	// column types PostgreSQL reports; Weft computes with the kind.
	PG uint32
	// Elem is an array's element kind.
	Elem Kind
	// Enum is the enum type of an Enum value (or of an array's elements).
	Enum *EnumDef `json:",omitempty"`
	// Natural marks an unconstrained numeric (declared numeric, no
	// typmod). PostgreSQL keeps each such value's own scale; Weft computes
	// at the fixed Scale and prints the value without trailing zeros.
	Natural bool `json:",omitempty"`
	// MinScale is the fewest fraction digits a Natural numeric prints (what
	// a fixed-scale operand contributed: x + 1.50 shows two at least).
	MinScale int32 `json:",omitempty"`
	// Record is a row value's fields (RecordOf), encoded so that T stays
	// comparable; empty when they are not known.
	Record string `json:",omitempty"`
}

// EnumDef is a user-defined enum type: its labels in sort order.
type EnumDef struct {
	OID, ArrayOID uint32
	Schema, Name  string
	Labels        []string
}

// Position is label's place in the sort order (-1 when it is no label).
func (e *EnumDef) Position(label string) int {
	for i, l := range e.Labels {
		if l == label {
			return i
		}
	}
	return -1
}

// ExpandedT is the type of information_schema._pg_expandarray's rows,
// (x, n): a record kept as its text '(x,n)', x of kind xKind.
func ExpandedT(xKind Kind) T { return T{Kind: Text, PG: 2249, Elem: xKind} }

// ArrayOf is the type of one-dimensional arrays of e.
func ArrayOf(e T) T {
	return T{Kind: Array, Elem: e.Kind, Prec: e.Prec, Scale: e.Scale, Len: e.Len, Enum: e.Enum, Natural: e.Natural, MinScale: e.MinScale, Record: e.Record}
}

// ElemOrText is the x type of an ExpandedT record (text when unknown).
func (t T) ElemOrText() T {
	if t.Elem == Unknown {
		return TextT
	}
	return T{Kind: t.Elem}
}

// IsRegType reports whether t is an object identifier type (regclass,
// regtype, regnamespace, regrole): an OID shown as a name.
func (t T) IsRegType() bool {
	return t.PG == 2205 || t.PG == 2206 || t.PG == 4089 || t.PG == 4096
}

// ElemT is an array type's element type.
func (t T) ElemT() T {
	e := T{Kind: t.Elem, Prec: t.Prec, Scale: t.Scale, Len: t.Len, Enum: t.Enum, Natural: t.Natural, MinScale: t.MinScale, Record: t.Record}
	if e.Record != "" {
		e.PG = 2249 // an array of rows: its elements are records of these fields
	}
	return e
}

// arrayOIDs are PostgreSQL's array type OIDs by element type OID.
var arrayOIDs = map[uint32]uint32{
	16: 1000, 17: 1001, 18: 1002, 19: 1003, 20: 1016, 21: 1005, 23: 1007, 25: 1009, 26: 1028, 700: 1021, 701: 1022,
	1042: 1014, 1043: 1015, 1082: 1182, 1083: 1183, 1114: 1115, 1184: 1185, 1186: 1187, 1700: 1231, 2950: 2951,
	114: 199, 3802: 3807, 869: 1041, 2249: 2287,
}

// ArrayOID is the OID of the array type of elements of type OID elem.
func ArrayOID(elem uint32) uint32 { return arrayOIDs[elem] }

// ElemOID is the element type OID of a PostgreSQL array type OID (0 when
// oid is not an array type).
func ElemOID(oid uint32) uint32 {
	for e, a := range arrayOIDs {
		if a == oid {
			return e
		}
	}
	return 0
}

// PostgreSQL types Weft stores as one of its own kinds.
var (
	NameT  = T{Kind: Text, PG: 19}
	OIDT   = T{Kind: Int8, PG: 26}
	CharT1 = T{Kind: Text, PG: 18} // "char": one byte
)

// Convenience values.
var (
	UnknownT     = T{Kind: Unknown}
	BoolT        = T{Kind: Bool}
	Int2T        = T{Kind: Int2}
	Int4T        = T{Kind: Int4}
	Int8T        = T{Kind: Int8}
	Float4T      = T{Kind: Float4}
	Float8T      = T{Kind: Float8}
	TextT        = T{Kind: Text}
	ByteaT       = T{Kind: Bytea}
	DateT        = T{Kind: Date}
	TimeT        = T{Kind: Time}
	TimestampT   = T{Kind: Timestamp}
	TimestampTZT = T{Kind: TimestampTZ}
	IntervalT    = T{Kind: Interval}
	UUIDT        = T{Kind: UUID}
	JSONT        = T{Kind: JSON}
	InetT        = T{Kind: Inet}
	// object identifier types: OIDs that print as the object's name
	RegClassT     = T{Kind: Int8, PG: 2205}
	RegTypeT      = T{Kind: Int8, PG: 2206}
	RegNamespaceT = T{Kind: Int8, PG: 4089}
	RegRoleT      = T{Kind: Int8, PG: 4096}
	JSONBT        = T{Kind: JSONB}
	// VoidT is the result of functions called for their effect
	// (pg_advisory_lock); its value prints as an empty string.
	VoidT = T{Kind: Text, PG: 2278}
)

// MaxNumericPrecision is the widest decimal128 precision.
const MaxNumericPrecision = 38

// NumericT returns numeric(p,s); p = 0 means unconstrained.
func NumericT(p, s int32) T { return T{Kind: Numeric, Prec: p, Scale: s} }

func (t T) IsInteger() bool { return t.Kind == Int2 || t.Kind == Int4 || t.Kind == Int8 }
func (t T) IsFloat() bool   { return t.Kind == Float4 || t.Kind == Float8 }
func (t T) IsNumber() bool  { return t.IsInteger() || t.IsFloat() || t.Kind == Numeric }
func (t T) IsString() bool  { return t.Kind == Text || t.Kind == Varchar || t.Kind == Char }
func (t T) IsTemporal() bool {
	return t.Kind == Date || t.Kind == Time || t.Kind == Timestamp || t.Kind == TimestampTZ
}

// Equal reports whether two types are the same for execution purposes.
func (t T) Equal(o T) bool { return t == o }

// Arrow returns the Arrow type that stores values of t.
func (t T) Arrow() arrow.DataType {
	switch t.Kind {
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Int2:
		return arrow.PrimitiveTypes.Int16
	case Int4:
		return arrow.PrimitiveTypes.Int32
	case Int8:
		return arrow.PrimitiveTypes.Int64
	case Float4:
		return arrow.PrimitiveTypes.Float32
	case Float8:
		return arrow.PrimitiveTypes.Float64
	case Numeric:
		return &arrow.Decimal128Type{Precision: MaxNumericPrecision, Scale: t.Scale}
	case Text, Varchar, Char, Unknown, JSON, JSONB, Enum, Inet:
		return arrow.BinaryTypes.String
	case Bytea, UUID:
		return arrow.BinaryTypes.Binary
	case Array:
		return arrow.ListOf(t.ElemT().Arrow())
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Time:
		return arrow.FixedWidthTypes.Time64us
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case TimestampTZ:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case Interval:
		return arrow.FixedWidthTypes.MonthDayNanoInterval
	}
	panic(fmt.Sprintf("types: no arrow type for kind %d", t.Kind))
}

// OID returns the PostgreSQL type OID.
func (t T) OID() uint32 {
	if t.PG != 0 {
		return t.PG
	}
	switch t.Kind {
	case Bool:
		return 16
	case Int2:
		return 21
	case Int4:
		return 23
	case Int8:
		return 20
	case Float4:
		return 700
	case Float8:
		return 701
	case Numeric:
		return 1700
	case Text:
		return 25
	case Varchar:
		return 1043
	case Char:
		return 1042
	case Bytea:
		return 17
	case UUID:
		return 2950
	case JSON:
		return 114
	case JSONB:
		return 3802
	case Enum:
		return t.Enum.OID
	case Inet:
		return 869
	case Array:
		if t.Elem == Enum {
			return t.Enum.ArrayOID
		}
		return arrayOIDs[t.ElemT().OID()]
	case Date:
		return 1082
	case Time:
		return 1083
	case Timestamp:
		return 1114
	case TimestampTZ:
		return 1184
	case Interval:
		return 1186
	}
	return 705 // unknown
}

// String returns the type's name as PostgreSQL's format_type prints it.
func (t T) String() string {
	if name := t.compositeName(); name != "" {
		return name
	}
	switch t.PG {
	case 2205:
		return "regclass"
	case 2206:
		return "regtype"
	case 4089:
		return "regnamespace"
	case 4096:
		return "regrole"
	case 19:
		return "name"
	case 26:
		return "oid"
	case 18:
		return `"char"`
	case 2249:
		return "record"
	case 22:
		return "int2vector"
	case 2278:
		return "void"
	case 30:
		return "oidvector"
	case 1005:
		return "smallint[]"
	case 1028:
		return "oid[]"
	case 1002:
		return `"char"[]`
	}
	switch t.Kind {
	case Bool:
		return "boolean"
	case Int2:
		return "smallint"
	case Int4:
		return "integer"
	case Int8:
		return "bigint"
	case Float4:
		return "real"
	case Float8:
		return "double precision"
	case Numeric:
		if t.Prec == 0 {
			return "numeric"
		}
		return fmt.Sprintf("numeric(%d,%d)", t.Prec, t.Scale)
	case Text:
		return "text"
	case Varchar:
		if t.Len > 0 {
			return fmt.Sprintf("character varying(%d)", t.Len)
		}
		return "character varying"
	case Char:
		if t.Len <= 0 {
			return "character" // bpchar of any length (COALESCE, UNION)
		}
		return fmt.Sprintf("character(%d)", t.Len)
	case Bytea:
		return "bytea"
	case UUID:
		return "uuid"
	case JSON:
		return "json"
	case JSONB:
		return "jsonb"
	case Enum:
		return t.Enum.Name
	case Inet:
		return "inet"
	case Array:
		return t.ElemT().String() + "[]"
	case Date:
		return "date"
	case Time:
		return "time without time zone"
	case Timestamp:
		return "timestamp without time zone"
	case TimestampTZ:
		return "timestamp with time zone"
	case Interval:
		return "interval"
	}
	return "unknown"
}

// DefaultNumericScale is the scale used for unconstrained numeric values
// whose scale cannot be derived (e.g. a cast from float).
const DefaultNumericScale = 16

// FromName resolves a type name (as pg_query spells it, possibly qualified
// with pg_catalog) and its type modifiers.
func FromName(name string, mods []int32) (T, bool) {
	name = strings.TrimPrefix(strings.ToLower(name), "pg_catalog.")
	switch name {
	case "bool", "boolean":
		return BoolT, true
	case "int2", "smallint":
		return Int2T, true
	case "int4", "int", "integer", "serial", "serial4":
		return Int4T, true
	case "int8", "bigint", "bigserial", "serial8":
		return Int8T, true
	case "float4", "real":
		return Float4T, true
	case "float8", "double precision", "float":
		if name == "float" && len(mods) == 1 && mods[0] <= 24 {
			return Float4T, true
		}
		return Float8T, true
	case "numeric", "decimal":
		switch len(mods) {
		case 0:
			t := NumericT(0, DefaultNumericScale)
			t.Natural = true
			return t, true
		case 1:
			return NumericT(mods[0], 0), true
		default:
			return NumericT(mods[0], mods[1]), true
		}
	case "text", "name", "string":
		return TextT, true
	case "varchar", "character varying":
		t := T{Kind: Varchar}
		if len(mods) > 0 {
			t.Len = mods[0]
		}
		return t, true
	case "bpchar", "char", "character":
		t := T{Kind: Char, Len: 1}
		if name == "bpchar" {
			t.Len = 0 // bpchar alone has no length; char alone is char(1)
		}
		if len(mods) > 0 {
			t.Len = mods[0]
		}
		return t, true
	case "bytea":
		return ByteaT, true
	case "inet":
		return InetT, true
	case "json":
		return JSONT, true
	case "jsonb":
		return JSONBT, true
	case "uuid":
		return UUIDT, true
	case "date":
		return DateT, true
	case "time", "time without time zone":
		return TimeT, true
	case "timestamp", "timestamp without time zone":
		return TimestampT, true
	case "timestamptz", "timestamp with time zone":
		return TimestampTZT, true
	case "interval":
		return IntervalT, true
	case "regclass":
		return RegClassT, true
	case "regtype":
		return RegTypeT, true
	case "regnamespace":
		return RegNamespaceT, true
	case "regrole":
		return RegRoleT, true
	case "oid":
		return OIDT, true
	case "regproc", "regprocedure", "xid", "cid":
		// Weft keeps object identifiers as bigint (catalog queries cast to them)
		return Int8T, true
	}
	return T{}, false
}

// FromArrow maps an Arrow type back to a SQL type.
func FromArrow(dt arrow.DataType) (T, bool) {
	switch d := dt.(type) {
	case *arrow.BooleanType:
		return BoolT, true
	case *arrow.Int16Type:
		return Int2T, true
	case *arrow.Int32Type:
		return Int4T, true
	case *arrow.Int64Type:
		return Int8T, true
	case *arrow.Float32Type:
		return Float4T, true
	case *arrow.Float64Type:
		return Float8T, true
	case *arrow.Decimal128Type:
		return NumericT(d.Precision, d.Scale), true
	case *arrow.StringType, *arrow.LargeStringType:
		return TextT, true
	case *arrow.BinaryType:
		return ByteaT, true
	case *arrow.Date32Type:
		return DateT, true
	case *arrow.Time64Type:
		return TimeT, true
	case *arrow.TimestampType:
		if d.TimeZone != "" {
			return TimestampTZT, true
		}
		return TimestampT, true
	case *arrow.MonthDayNanoIntervalType:
		return IntervalT, true
	case *arrow.ListType:
		if e, ok := FromArrow(d.Elem()); ok && e.Kind != Array {
			return ArrayOf(e), true
		}
	}
	return T{}, false
}
