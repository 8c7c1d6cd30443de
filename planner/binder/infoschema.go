package binder

import (
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// information_schema relations, built from Weft's catalog like the
// pg_catalog ones. Their columns are the SQL standard's (sql_identifier,
// character_data and cardinal_number are shown as text and integers).
var infoSchemaShapes = map[string][]catCol{
	"schemata": {{"catalog_name", tName}, {"schema_name", tName}, {"schema_owner", tName}},
	"tables": {{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"table_type", tText},
		{"is_insertable_into", tText}, {"is_typed", tText}},
	"columns": {{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"column_name", tName},
		{"ordinal_position", tInt}, {"column_default", tText}, {"is_nullable", tText}, {"data_type", tText},
		{"character_maximum_length", tInt}, {"numeric_precision", tInt}, {"numeric_scale", tInt}, {"udt_name", tName}},
	"views":             {{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"view_definition", tText}},
	"routines":          {{"specific_schema", tName}, {"specific_name", tName}, {"routine_schema", tName}, {"routine_name", tName}, {"routine_type", tText}, {"data_type", tText}, {"external_language", tText}},
	"table_constraints": {{"constraint_schema", tName}, {"constraint_name", tName}, {"table_schema", tName}, {"table_name", tName}, {"constraint_type", tText}},
	"key_column_usage":  {{"constraint_schema", tName}, {"constraint_name", tName}, {"table_schema", tName}, {"table_name", tName}, {"column_name", tName}, {"ordinal_position", tInt}},
}

// infoSchemaView builds an information_schema relation, or reports it
// unknown.
func (b *Binder) infoSchemaView(name string) (logical.Plan, bool) {
	shape, ok := infoSchemaShapes[name]
	if !ok {
		return nil, false
	}
	rel := &relationRows{shape: shape, missing: func(types.T) types.Datum { return nil }}
	row := rel.add
	switch name {
	case "schemata":
		for _, s := range []string{"pg_catalog", "information_schema"} {
			row(map[string]types.Datum{"catalog_name": "weft", "schema_name": s, "schema_owner": "weft"})
		}
		for _, s := range b.Cat.Schemas() {
			row(map[string]types.Datum{"catalog_name": "weft", "schema_name": s.Name, "schema_owner": "weft"})
		}
	case "tables":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				row(map[string]types.Datum{"table_catalog": "weft", "table_schema": s.Name, "table_name": t.Name, "table_type": "BASE TABLE", "is_insertable_into": "YES", "is_typed": "NO"})
			}
			for _, v := range sortedTables(s.Views) {
				row(map[string]types.Datum{"table_catalog": "weft", "table_schema": s.Name, "table_name": v.Name, "table_type": "VIEW", "is_insertable_into": "NO", "is_typed": "NO"})
			}
		}
	case "columns":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for i, c := range t.Columns {
					vals := map[string]types.Datum{"table_catalog": "weft", "table_schema": s.Name, "table_name": t.Name, "column_name": c.Name,
						"ordinal_position": int64(i + 1), "is_nullable": map[bool]string{true: "NO", false: "YES"}[c.NotNull],
						"data_type": c.Type.String(), "udt_name": udtName(c.Type)}
					if c.Default != "" {
						vals["column_default"] = c.Default
					}
					switch c.Type.Kind {
					case types.Varchar, types.Char:
						vals["data_type"] = map[bool]string{true: "character varying", false: "character"}[c.Type.Kind == types.Varchar]
						if c.Type.Len > 0 {
							vals["character_maximum_length"] = int64(c.Type.Len)
						}
					case types.Enum:
						vals["data_type"] = "USER-DEFINED"
					case types.Array:
						vals["data_type"], vals["udt_name"] = "ARRAY", "_"+udtName(c.Type.ElemT())
					case types.Numeric:
						vals["data_type"] = "numeric"
						if c.Type.Prec > 0 {
							vals["numeric_precision"], vals["numeric_scale"] = int64(c.Type.Prec), int64(c.Type.Scale)
						}
					case types.Int2:
						vals["numeric_precision"], vals["numeric_scale"] = int64(16), int64(0)
					case types.Int4:
						vals["numeric_precision"], vals["numeric_scale"] = int64(32), int64(0)
					case types.Int8:
						vals["numeric_precision"], vals["numeric_scale"] = int64(64), int64(0)
					}
					row(vals)
				}
			}
		}
	case "table_constraints", "key_column_usage":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				for _, fk := range t.ForeignKeys {
					if name == "table_constraints" {
						row(map[string]types.Datum{"constraint_schema": s.Name, "constraint_name": fk.Name, "table_schema": s.Name, "table_name": t.Name,
							"constraint_type": "FOREIGN KEY"})
						continue
					}
					for i, c := range fk.Columns {
						row(map[string]types.Datum{"constraint_schema": s.Name, "constraint_name": fk.Name, "table_schema": s.Name, "table_name": t.Name,
							"column_name": t.Columns[c].Name, "ordinal_position": int64(i + 1)})
					}
				}
				for _, k := range t.Keys {
					if k.IndexOnly {
						continue
					}
					if name == "table_constraints" {
						row(map[string]types.Datum{"constraint_schema": s.Name, "constraint_name": k.Name, "table_schema": s.Name, "table_name": t.Name,
							"constraint_type": map[bool]string{true: "PRIMARY KEY", false: "UNIQUE"}[k.Primary]})
						continue
					}
					for i, c := range k.Columns {
						row(map[string]types.Datum{"constraint_schema": s.Name, "constraint_name": k.Name, "table_schema": s.Name, "table_name": t.Name,
							"column_name": t.Columns[c].Name, "ordinal_position": int64(i + 1)})
					}
				}
			}
		}
	case "views":
		for _, s := range b.Cat.Schemas() {
			for _, v := range sortedTables(s.Views) {
				row(map[string]types.Datum{"table_catalog": "weft", "table_schema": s.Name, "table_name": v.Name, "view_definition": v.SQL})
			}
		}
	case "routines":
		for _, f := range b.Cat.Functions() {
			row(map[string]types.Datum{"specific_schema": f.Schema, "specific_name": f.UDF.Name, "routine_schema": f.Schema, "routine_name": f.UDF.Name,
				"routine_type": "FUNCTION", "data_type": f.UDF.Result.String(), "external_language": "WASM"})
		}
	}
	return rel.plan(b), true
}

// udtName is the type's name in pg_type (int4, varchar, …).
func udtName(t types.T) string {
	if t.Kind == types.Enum {
		return t.Enum.Name
	}
	for _, bt := range builtinTypes {
		if bt.oid == int64(t.OID()) {
			return bt.name
		}
	}
	return t.String()
}
