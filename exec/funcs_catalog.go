package exec

import (
	"fmt"
	"github.com/weftdb/weft/sql/sqlerr"

	"github.com/weftdb/weft/sql/types"
)

// catalogFunctions are the system-information functions clients call
// around pg_catalog queries (psql's \d family, pgjdbc's metadata).
func catalogFunctions() []*ScalarDef {
	oid := types.Int8T
	constant := func(name string, params []types.T, ret types.T, v types.Datum) *ScalarDef {
		return sig(name, params, ret, func([]types.Datum) (types.Datum, error) { return v, nil })
	}
	return []*ScalarDef{
		constant("pg_get_userbyid", []types.T{oid}, types.NameT, "weft"),
		constant("pg_table_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_type_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_function_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_operator_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_conversion_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_collation_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_opclass_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_opfamily_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_statistics_obj_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_ts_config_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_ts_parser_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_ts_dict_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_ts_template_is_visible", []types.T{oid}, types.BoolT, true),
		constant("pg_tablespace_location", []types.T{oid}, textT, ""),
		constant("pg_relation_is_publishable", []types.T{oid}, types.BoolT, false),
		constant("pg_encoding_to_char", []types.T{types.Int4T}, types.NameT, "UTF8"),
		// the binder answers these over the catalog (planner/binder/
		// privfuncs.go); these definitions only give their signatures
		privilegeCheck("has_table_privilege"), privilegeCheck("has_schema_privilege"),
		privilegeCheck("has_database_privilege"), privilegeCheck("has_function_privilege"),
		privilegeCheck("has_sequence_privilege"), privilegeCheck("has_any_column_privilege"),
		overloads("obj_description",
			constant("obj_description", []types.T{oid}, textT, nil),
			constant("obj_description", []types.T{oid, textT}, textT, nil)),
		constant("col_description", []types.T{oid, types.Int4T}, textT, nil),
		overloads("pg_get_triggerdef", // pg_trigger is empty: never called with a row
			constant("pg_get_triggerdef", []types.T{oid}, textT, nil),
			constant("pg_get_triggerdef", []types.T{oid, types.BoolT}, textT, nil)),
		overloads("pg_get_indexdef",
			constant("pg_get_indexdef", []types.T{oid}, textT, nil),
			constant("pg_get_indexdef", []types.T{oid, types.Int4T, types.BoolT}, textT, nil)),
		overloads("pg_get_constraintdef",
			constant("pg_get_constraintdef", []types.T{oid}, textT, nil),
			constant("pg_get_constraintdef", []types.T{oid, types.BoolT}, textT, nil)),
		overloads("pg_get_expr",
			sig("pg_get_expr", []types.T{textT, oid}, textT, func(ds []types.Datum) (types.Datum, error) { return ds[0], nil }),
			sig("pg_get_expr", []types.T{textT, oid, types.BoolT}, textT, func(ds []types.Datum) (types.Datum, error) { return ds[0], nil })),
		constant("pg_get_function_result", []types.T{oid}, textT, nil),
		constant("pg_get_function_arguments", []types.T{oid}, textT, nil),
		constant("pg_get_function_identity_arguments", []types.T{oid}, textT, nil),
		constant("pg_get_statisticsobjdef_columns", []types.T{oid}, textT, nil),
		constant("pg_get_partkeydef", []types.T{oid}, textT, nil), // no partitioned tables
		// sizes: Weft keeps no pages, so relations and databases report
		// none (the signatures are what monitoring and BI tools call)
		constant("pg_table_size", []types.T{oid}, types.Int8T, int64(0)),
		constant("pg_total_relation_size", []types.T{oid}, types.Int8T, int64(0)),
		constant("pg_indexes_size", []types.T{oid}, types.Int8T, int64(0)),
		overloads("pg_relation_size",
			constant("pg_relation_size", []types.T{oid}, types.Int8T, int64(0)),
			constant("pg_relation_size", []types.T{oid, textT}, types.Int8T, int64(0))),
		overloads("pg_database_size",
			constant("pg_database_size", []types.T{types.NameT}, types.Int8T, int64(0)),
			constant("pg_database_size", []types.T{oid}, types.Int8T, int64(0))),
		constant("pg_is_in_recovery", []types.T{}, types.BoolT, false),
		sig("pg_size_pretty", []types.T{types.Int8T}, textT, func(ds []types.Datum) (types.Datum, error) {
			return sizePretty(ds[0].(int64)), nil
		}),
		{Name: "format_type", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 2 {
				return nil, types.T{}, nil, NoSuchFunction("format_type", args)
			}
			// a NULL typmod is allowed: the kernel sees every row
			return []types.T{oid, types.Int4T}, textT, FormatTypeKernel(nil), nil
		}},
	}
}

// sizePretty is pg_size_pretty(bigint): bytes below 10 kB, then the
// largest unit (kB … PB, 1024 apart) that keeps the number below 20480,
// rounded half away from zero as PostgreSQL does.
func sizePretty(size int64) string {
	units := []struct {
		name  string
		limit int64
		round bool
		bits  uint
	}{{"bytes", 10 * 1024, false, 0}, {"kB", 20*1024 - 1, true, 10}, {"MB", 20*1024 - 1, true, 20},
		{"GB", 20*1024 - 1, true, 30}, {"TB", 20*1024 - 1, true, 40}, {"PB", 20*1024 - 1, true, 50}}
	abs := func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	}
	for i, u := range units {
		if i == len(units)-1 || abs(size) < u.limit {
			if u.round {
				if size < 0 {
					size = (size - 1) / 2
				} else {
					size = (size + 1) / 2
				}
			}
			return fmt.Sprintf("%d %s", size, u.name)
		}
		next := units[i+1]
		bits := next.bits - u.bits
		if next.round {
			bits--
		}
		if u.round {
			bits++
		}
		size /= int64(1) << bits
	}
	return ""
}

// FormatTypeKernel is format_type(oid, typmod); userType names the types
// the built-in list does not know (enums, domains), "" when none has oid.
func FormatTypeKernel(userType func(oid int64) string) Kernel {
	return rowKernelNullable(textT, func(ds []types.Datum) (types.Datum, error) {
		if ds[0] == nil {
			return nil, nil
		}
		name, _ := formatType(ds)
		if name != "???" {
			return name, nil
		}
		oid := ds[0].(int64)
		if e := types.ElemOID(uint32(oid)); e != 0 {
			if n, _ := formatType([]types.Datum{int64(e), ds[1]}); n != "???" {
				return n.(string) + "[]", nil
			}
		}
		if userType != nil {
			if n := userType(oid); n != "" {
				return n, nil
			}
		}
		return "???", nil
	})
}

// formatType renders a type OID and typmod as format_type does.
func formatType(ds []types.Datum) (types.Datum, error) {
	oid := ds[0].(int64)
	mod := int64(-1)
	if len(ds) > 1 && ds[1] != nil {
		mod = ds[1].(int64)
	}
	names := map[int64]string{16: "boolean", 17: "bytea", 18: `"char"`, 19: "name", 20: "bigint", 21: "smallint", 23: "integer",
		25: "text", 26: "oid", 700: "real", 701: "double precision", 1082: "date", 1083: "time without time zone",
		1114: "timestamp without time zone", 1184: "timestamp with time zone", 1186: "interval", 2950: "uuid",
		114: "json", 3802: "jsonb", 869: "inet", 2205: "regclass", 2206: "regtype", 4089: "regnamespace", 4096: "regrole"}
	switch oid {
	case 1043:
		if mod > 4 {
			return fmt.Sprintf("character varying(%d)", mod-4), nil
		}
		return "character varying", nil
	case 1042:
		if mod > 4 {
			return fmt.Sprintf("character(%d)", mod-4), nil
		}
		return "character", nil
	case 1700:
		if mod > 4 {
			return fmt.Sprintf("numeric(%d,%d)", (mod-4)>>16, (mod-4)&0xffff), nil
		}
		return "numeric", nil
	}
	if n, ok := names[oid]; ok {
		return n, nil
	}
	return "???", nil
}

// RowKernel builds a strict kernel from a per-row function (for functions
// the binder defines at bind time, e.g. over the catalog).
func RowKernel(ret types.T, f func([]types.Datum) (types.Datum, error)) Kernel {
	return rowKernel(ret, f)
}

// privilegeCheck is has_*_privilege([user,] object, privilege): true.
func privilegeCheck(name string) *ScalarDef {
	return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != 2 && len(args) != 3 {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		params := make([]types.T, len(args))
		for i, a := range args {
			params[i] = textT
			if a.IsInteger() {
				params[i] = types.Int8T // an oid
			}
		}
		return params, types.BoolT, rowKernelNullable(types.BoolT, func([]types.Datum) (types.Datum, error) { return true, nil }), nil
	}}
}

// DomainCheckKernel passes a value of domain name through when it meets
// the domain's constraints: args are the value and, when the domain has a
// CHECK, the condition over it (NULL passes, as in PostgreSQL).
func DomainCheckKernel(name, checkName string, base types.T, notNull bool) Kernel {
	return rowKernelNullable(base, func(ds []types.Datum) (types.Datum, error) {
		if ds[0] == nil {
			if notNull {
				return nil, sqlerr.New(sqlerr.NotNullViolation, "domain %s does not allow null values", name)
			}
			return nil, nil
		}
		if len(ds) > 1 && ds[1] == false {
			return nil, sqlerr.New(sqlerr.CheckViolation, "value for domain %s violates check constraint \"%s\"", name, checkName)
		}
		return ds[0], nil
	})
}

// RowKernelNullable is RowKernel for functions that see NULL arguments.
func RowKernelNullable(ret types.T, f func([]types.Datum) (types.Datum, error)) Kernel {
	return rowKernelNullable(ret, f)
}
