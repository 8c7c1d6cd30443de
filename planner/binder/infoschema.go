package binder

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// information_schema relations, built from Weft's catalog like the
// pg_catalog ones, with PostgreSQL 15's columns in its order
// (sql_identifier shows as name, character_data and yes_or_no as text,
// cardinal_number as integer). Tools select columns by name, so a view
// lists them all even where Weft has nothing to say (NULL).
var infoSchemaShapes = map[string][]catCol{
	"schemata": {{"catalog_name", tName}, {"schema_name", tName}, {"schema_owner", tName}, {"default_character_set_catalog", tName},
		{"default_character_set_schema", tName}, {"default_character_set_name", tName}, {"sql_path", tText}},
	"tables": {{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"table_type", tText},
		{"self_referencing_column_name", tName}, {"reference_generation", tText}, {"user_defined_type_catalog", tName},
		{"user_defined_type_schema", tName}, {"user_defined_type_name", tName}, {"is_insertable_into", tText}, {"is_typed", tText},
		{"commit_action", tText}},
	"columns": {{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"column_name", tName},
		{"ordinal_position", tInt}, {"column_default", tText}, {"is_nullable", tText}, {"data_type", tText},
		{"character_maximum_length", tInt}, {"character_octet_length", tInt}, {"numeric_precision", tInt},
		{"numeric_precision_radix", tInt}, {"numeric_scale", tInt}, {"datetime_precision", tInt}, {"interval_type", tText},
		{"interval_precision", tInt}, {"character_set_catalog", tName}, {"character_set_schema", tName}, {"character_set_name", tName},
		{"collation_catalog", tName}, {"collation_schema", tName}, {"collation_name", tName}, {"domain_catalog", tName},
		{"domain_schema", tName}, {"domain_name", tName}, {"udt_catalog", tName}, {"udt_schema", tName}, {"udt_name", tName},
		{"scope_catalog", tName}, {"scope_schema", tName}, {"scope_name", tName}, {"maximum_cardinality", tInt},
		{"dtd_identifier", tName}, {"is_self_referencing", tText}, {"is_identity", tText}, {"identity_generation", tText},
		{"identity_start", tText}, {"identity_increment", tText}, {"identity_maximum", tText}, {"identity_minimum", tText},
		{"identity_cycle", tText}, {"is_generated", tText}, {"generation_expression", tText}, {"is_updatable", tText}},
	"views": {{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"view_definition", tText},
		{"check_option", tText}, {"is_updatable", tText}, {"is_insertable_into", tText}, {"is_trigger_updatable", tText},
		{"is_trigger_deletable", tText}, {"is_trigger_insertable_into", tText}},
	"routines": {{"specific_catalog", tName}, {"specific_schema", tName}, {"specific_name", tName}, {"routine_catalog", tName},
		{"routine_schema", tName}, {"routine_name", tName}, {"routine_type", tText}, {"data_type", tText}, {"type_udt_name", tName},
		{"routine_body", tText}, {"routine_definition", tText}, {"external_name", tText}, {"external_language", tText},
		{"is_deterministic", tText}, {"is_null_call", tText}, {"security_type", tText}},
	"table_constraints": {{"constraint_catalog", tName}, {"constraint_schema", tName}, {"constraint_name", tName},
		{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"constraint_type", tText},
		{"is_deferrable", tText}, {"initially_deferred", tText}, {"enforced", tText}, {"nulls_distinct", tText}},
	"key_column_usage": {{"constraint_catalog", tName}, {"constraint_schema", tName}, {"constraint_name", tName},
		{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"column_name", tName},
		{"ordinal_position", tInt}, {"position_in_unique_constraint", tInt}},
	"constraint_column_usage": {{"table_catalog", tName}, {"table_schema", tName}, {"table_name", tName}, {"column_name", tName},
		{"constraint_catalog", tName}, {"constraint_schema", tName}, {"constraint_name", tName}},
	"referential_constraints": {{"constraint_catalog", tName}, {"constraint_schema", tName}, {"constraint_name", tName},
		{"unique_constraint_catalog", tName}, {"unique_constraint_schema", tName}, {"unique_constraint_name", tName},
		{"match_option", tText}, {"update_rule", tText}, {"delete_rule", tText}},
	"check_constraints": {{"constraint_catalog", tName}, {"constraint_schema", tName}, {"constraint_name", tName}, {"check_clause", tText}},
	"sequences": {{"sequence_catalog", tName}, {"sequence_schema", tName}, {"sequence_name", tName}, {"data_type", tText},
		{"numeric_precision", tInt}, {"numeric_precision_radix", tInt}, {"numeric_scale", tInt}, {"start_value", tText},
		{"minimum_value", tText}, {"maximum_value", tText}, {"increment", tText}, {"cycle_option", tText}},
}

const infoCatalog = "weft"

// infoSchemaView builds an information_schema relation, or reports it
// unknown.
func (b *Binder) infoSchemaView(name string) (logical.Plan, bool) {
	if shape, ok := infoPrivShapes[name]; ok {
		rel := &relationRows{shape: shape, missing: func(types.T) types.Datum { return nil }}
		b.infoPrivView(name, rel.add)
		return rel.plan(b), true
	}
	shape, ok := infoSchemaShapes[name]
	if !ok {
		return nil, false
	}
	rel := &relationRows{shape: shape, missing: func(types.T) types.Datum { return nil }}
	row := rel.add
	switch name {
	case "schemata":
		for _, s := range []string{"pg_catalog", "information_schema"} {
			row(map[string]types.Datum{"catalog_name": infoCatalog, "schema_name": s, "schema_owner": "weft"})
		}
		for _, s := range b.Cat.Schemas() {
			row(map[string]types.Datum{"catalog_name": infoCatalog, "schema_name": s.Name, "schema_owner": b.Cat.Privileges(s.OID, catalog.KindSchema).Owner})
		}
	case "tables":
		for _, s := range b.Cat.Schemas() {
			for _, t := range sortedTables(s.Tables) {
				if t.MatView != "" {
					continue // (the standard's views leave materialized views out, as PostgreSQL's)
				}
				row(map[string]types.Datum{"table_catalog": infoCatalog, "table_schema": s.Name, "table_name": t.Name, "table_type": "BASE TABLE", "is_insertable_into": "YES", "is_typed": "NO"})
			}
			for _, v := range sortedTables(s.Views) {
				row(map[string]types.Datum{"table_catalog": infoCatalog, "table_schema": s.Name, "table_name": v.Name, "table_type": "VIEW", "is_insertable_into": "NO", "is_typed": "NO"})
			}
		}
	case "columns":
		b.infoColumns(row)
	case "table_constraints":
		b.infoTableConstraints(row)
	case "key_column_usage":
		b.infoKeyColumnUsage(row)
	case "constraint_column_usage":
		b.infoConstraintColumnUsage(row)
	case "referential_constraints":
		b.infoReferentialConstraints(row)
	case "check_constraints":
		b.eachConstraintTable(func(s *catalog.Schema, t *catalog.Table) {
			for _, c := range t.Checks {
				// pg_get_constraintdef's text after "CHECK "
				row(map[string]types.Datum{"constraint_catalog": infoCatalog, "constraint_schema": s.Name, "constraint_name": c.Name, "check_clause": "((" + c.Expr + "))"})
			}
			for i, c := range t.Columns {
				if c.NotNull {
					row(map[string]types.Datum{"constraint_catalog": infoCatalog, "constraint_schema": s.Name,
						"constraint_name": notNullName(s, t, i), "check_clause": c.Name + " IS NOT NULL"})
				}
			}
		})
	case "sequences":
		for _, q := range b.Cat.Sequences() {
			if b.identitySequence(q) {
				continue // PostgreSQL lists an identity column's sequence as no sequence of its own
			}
			row(map[string]types.Datum{"sequence_catalog": infoCatalog, "sequence_schema": q.Schema, "sequence_name": q.Name,
				"data_type": "bigint", "numeric_precision": int64(64), "numeric_precision_radix": int64(2), "numeric_scale": int64(0),
				"start_value": strconv.FormatInt(q.Start, 10), "minimum_value": strconv.FormatInt(q.Min, 10),
				"maximum_value": strconv.FormatInt(q.Max, 10), "increment": strconv.FormatInt(q.Increment, 10), "cycle_option": yesNo(q.Cycle)})
		}
	case "views":
		for _, s := range b.Cat.Schemas() {
			for _, v := range sortedTables(s.Views) {
				row(map[string]types.Datum{"table_catalog": infoCatalog, "table_schema": s.Name, "table_name": v.Name, "view_definition": v.SQL,
					"check_option": "NONE", "is_updatable": "NO", "is_insertable_into": "NO", "is_trigger_updatable": "NO",
					"is_trigger_deletable": "NO", "is_trigger_insertable_into": "NO"})
			}
		}
	case "routines":
		for _, f := range b.Cat.Functions() {
			row(map[string]types.Datum{"specific_catalog": infoCatalog, "specific_schema": f.Schema, "specific_name": f.UDF.Name + "_" + strconv.Itoa(int(f.OID)),
				"routine_catalog": infoCatalog, "routine_schema": f.Schema, "routine_name": f.UDF.Name, "routine_type": "FUNCTION",
				"data_type": f.UDF.Result.String(), "type_udt_name": udtName(f.UDF.Result), "routine_body": "EXTERNAL",
				"external_language": "WASM", "is_deterministic": "NO", "is_null_call": "NO", "security_type": "INVOKER"})
		}
	}
	return rel.plan(b), true
}

func yesNo(v bool) string {
	if v {
		return "YES"
	}
	return "NO"
}

// infoColumns lists the columns of tables and views.
func (b *Binder) infoColumns(row func(map[string]types.Datum)) {
	for _, s := range b.Cat.Schemas() {
		for _, t := range sortedTables(s.Tables) {
			if t.MatView != "" {
				continue
			}
			for i, c := range t.Columns {
				vals := columnTypeInfo(c.Type)
				b.compositeSchema(c.Type, vals)
				vals["table_catalog"], vals["table_schema"], vals["table_name"], vals["column_name"] = infoCatalog, s.Name, t.Name, c.Name
				vals["ordinal_position"], vals["dtd_identifier"] = int64(i+1), strconv.Itoa(i+1)
				vals["is_nullable"] = yesNo(!c.NotNull)
				vals["is_updatable"] = "YES"
				if c.Default != "" && c.Identity == "" {
					vals["column_default"] = shownDefault(c)
				}
				if c.Domain != 0 {
					if u := b.domainByOID(c.Domain); u != nil {
						vals["domain_catalog"], vals["domain_schema"], vals["domain_name"] = infoCatalog, u.Schema, u.Name
					}
				}
				if c.Identity != "" {
					b.identityInfo(vals, t, c)
				}
				if c.Generated != "" {
					vals["is_generated"], vals["generation_expression"], vals["is_updatable"] = "ALWAYS", shownGenerated(c.Generated), "YES"
				}
				row(vals)
			}
		}
		for _, v := range sortedTables(s.Views) {
			for i, c := range b.viewColumns(v) {
				vals := columnTypeInfo(c.t)
				b.compositeSchema(c.t, vals)
				vals["table_catalog"], vals["table_schema"], vals["table_name"], vals["column_name"] = infoCatalog, s.Name, v.Name, c.name
				vals["ordinal_position"], vals["dtd_identifier"] = int64(i+1), strconv.Itoa(i+1)
				vals["is_nullable"], vals["is_updatable"] = "YES", "NO"
				row(vals)
			}
		}
	}
}

// compositeSchema sets the udt_schema of a composite type's column to
// the type's schema (its T carries the OID, not the schema).
func (b *Binder) compositeSchema(t types.T, vals map[string]types.Datum) {
	if !t.IsComposite() {
		return
	}
	if u, _, ok := b.Cat.TypeByOID(t.PG); ok {
		vals["udt_schema"] = u.Schema
	}
}

// columnTypeInfo is a column's type as information_schema.columns
// describes it: data_type, lengths, precisions and the udt.
func columnTypeInfo(t types.T) map[string]types.Datum {
	vals := map[string]types.Datum{"data_type": t.String(), "udt_catalog": infoCatalog, "udt_schema": "pg_catalog", "udt_name": udtName(t),
		"is_self_referencing": "NO", "is_identity": "NO", "identity_cycle": "NO", "is_generated": "NEVER"}
	switch t.Kind {
	case types.Varchar, types.Char:
		vals["data_type"] = map[bool]string{true: "character varying", false: "character"}[t.Kind == types.Varchar]
		if t.Len > 0 {
			vals["character_maximum_length"], vals["character_octet_length"] = int64(t.Len), int64(t.Len)*4
		} else {
			vals["character_octet_length"] = int64(1073741824)
		}
	case types.Text:
		if t.PG == 0 {
			vals["character_octet_length"] = int64(1073741824)
		}
		if t.IsComposite() {
			vals["data_type"] = "USER-DEFINED" // its schema: compositeSchema
		}
	case types.Enum:
		vals["data_type"] = "USER-DEFINED"
		vals["udt_schema"] = t.Enum.Schema
	case types.Array:
		vals["data_type"], vals["udt_name"] = "ARRAY", "_"+udtName(t.ElemT())
	case types.Numeric:
		vals["data_type"], vals["numeric_precision_radix"] = "numeric", int64(10)
		if t.Prec > 0 {
			vals["numeric_precision"], vals["numeric_scale"] = int64(t.Prec), int64(t.Scale)
		}
	case types.Int2, types.Int4, types.Int8:
		bits := map[types.Kind]int64{types.Int2: 16, types.Int4: 32, types.Int8: 64}[t.Kind]
		vals["numeric_precision"], vals["numeric_precision_radix"], vals["numeric_scale"] = bits, int64(2), int64(0)
	case types.Float4:
		vals["numeric_precision"], vals["numeric_precision_radix"] = int64(24), int64(2)
	case types.Float8:
		vals["numeric_precision"], vals["numeric_precision_radix"] = int64(53), int64(2)
	case types.Date:
		vals["datetime_precision"] = int64(0)
	case types.Time, types.Timestamp, types.TimestampTZ, types.Interval:
		vals["datetime_precision"] = int64(6)
	}
	return vals
}

// identityInfo fills the identity_* columns from the column's sequence.
func (b *Binder) identityInfo(vals map[string]types.Datum, t *catalog.Table, c catalog.Column) {
	vals["is_identity"] = "YES"
	vals["identity_generation"] = map[bool]string{true: "ALWAYS", false: "BY DEFAULT"}[c.Identity == "a"]
	if q := ownedSequence(b.Cat.Sequences(), t, t.ColumnIndex(c.Name)); q != nil {
		vals["identity_start"], vals["identity_increment"] = strconv.FormatInt(q.Start, 10), strconv.FormatInt(q.Increment, 10)
		vals["identity_maximum"], vals["identity_minimum"] = strconv.FormatInt(q.Max, 10), strconv.FormatInt(q.Min, 10)
		vals["identity_cycle"] = yesNo(q.Cycle)
	}
}

// identitySequence reports whether q is the sequence of an identity column.
func (b *Binder) identitySequence(q *catalog.Sequence) bool {
	table, col, ok := strings.Cut(q.OwnedBy, ".")
	if !ok {
		return false
	}
	t, _, found := b.Cat.Lookup(q.Schema, table, nil)
	if !found || t == nil {
		return false
	}
	i := t.ColumnIndex(col)
	return i >= 0 && t.Columns[i].Identity != ""
}

func (b *Binder) domainByOID(oid uint32) *catalog.UserType {
	for _, u := range b.Cat.Types() {
		if u.OID == oid {
			return u
		}
	}
	return nil
}

// viewColumn is one output column of a view.
type viewColumn struct {
	name string
	t    types.T
}

// viewColumns binds a view's query to learn its columns (none when it no
// longer binds, e.g. after a column it reads was dropped).
func (b *Binder) viewColumns(v *catalog.View) []viewColumn {
	if b.listingViewColumns {
		return nil
	}
	b.listingViewColumns = true
	_, items, err := b.bindView(v, &pg.RangeVar{Relname: v.Name})
	b.listingViewColumns = false
	if err != nil {
		return nil
	}
	var out []viewColumn
	for _, it := range items {
		if it.qualOnly {
			continue
		}
		out = append(out, viewColumn{name: it.col.Name, t: it.col.T})
	}
	return out
}

// eachConstraintTable calls f for every base table.
func (b *Binder) eachConstraintTable(f func(*catalog.Schema, *catalog.Table)) {
	for _, s := range b.Cat.Schemas() {
		for _, t := range sortedTables(s.Tables) {
			f(s, t)
		}
	}
}

// notNullName is the name PostgreSQL gives a NOT NULL column's implicit
// check in information_schema (namespace oid, table oid, attnum).
func notNullName(s *catalog.Schema, t *catalog.Table, col int) string {
	return strconv.Itoa(int(s.OID)) + "_" + strconv.Itoa(int(t.OID)) + "_" + strconv.Itoa(col+1) + "_not_null"
}

func (b *Binder) infoTableConstraints(row func(map[string]types.Datum)) {
	b.eachConstraintTable(func(s *catalog.Schema, t *catalog.Table) {
		add := func(name, kind string) {
			vals := map[string]types.Datum{"constraint_catalog": infoCatalog, "constraint_schema": s.Name, "constraint_name": name,
				"table_catalog": infoCatalog, "table_schema": s.Name, "table_name": t.Name, "constraint_type": kind,
				"is_deferrable": "NO", "initially_deferred": "NO", "enforced": "YES"}
			if kind == "PRIMARY KEY" || kind == "UNIQUE" {
				vals["nulls_distinct"] = "YES"
			}
			row(vals)
		}
		for _, c := range t.Checks {
			add(c.Name, "CHECK")
		}
		for _, fk := range t.ForeignKeys {
			add(fk.Name, "FOREIGN KEY")
		}
		for _, k := range t.Keys {
			if !k.IndexOnly {
				add(k.Name, map[bool]string{true: "PRIMARY KEY", false: "UNIQUE"}[k.Primary])
			}
		}
		for i, c := range t.Columns {
			if c.NotNull {
				add(notNullName(s, t, i), "CHECK")
			}
		}
	})
}

func (b *Binder) infoKeyColumnUsage(row func(map[string]types.Datum)) {
	b.eachConstraintTable(func(s *catalog.Schema, t *catalog.Table) {
		add := func(name string, col, pos int, uniquePos types.Datum) {
			row(map[string]types.Datum{"constraint_catalog": infoCatalog, "constraint_schema": s.Name, "constraint_name": name,
				"table_catalog": infoCatalog, "table_schema": s.Name, "table_name": t.Name, "column_name": t.Columns[col].Name,
				"ordinal_position": int64(pos + 1), "position_in_unique_constraint": uniquePos})
		}
		for _, fk := range t.ForeignKeys {
			key, _ := b.referencedKey(fk)
			for i, c := range fk.Columns {
				var up types.Datum
				for j, kc := range key.Columns {
					if kc == fk.RefColumns[i] {
						up = int64(j + 1)
					}
				}
				add(fk.Name, c, i, up)
			}
		}
		for _, k := range t.Keys {
			if k.IndexOnly {
				continue
			}
			for i, c := range k.Columns {
				add(k.Name, c, i, nil)
			}
		}
	})
}

// referencedKey is the key of the parent table a foreign key references.
func (b *Binder) referencedKey(fk catalog.ForeignKey) (catalog.Key, *catalog.Table) {
	parent := b.Cat.TableByOID(fk.RefOID)
	if parent == nil {
		return catalog.Key{}, nil
	}
	oid := b.refIndexOID(fk)
	for _, k := range parent.Keys {
		if k.OID == oid {
			return k, parent
		}
	}
	return catalog.Key{}, parent
}

// infoConstraintColumnUsage lists the columns constraints use: a key's own
// columns, the referenced columns of a foreign key, and the columns a
// CHECK expression names.
func (b *Binder) infoConstraintColumnUsage(row func(map[string]types.Datum)) {
	b.eachConstraintTable(func(s *catalog.Schema, t *catalog.Table) {
		add := func(tab *catalog.Table, col int, name string) {
			row(map[string]types.Datum{"table_catalog": infoCatalog, "table_schema": tab.Schema, "table_name": tab.Name,
				"column_name": tab.Columns[col].Name, "constraint_catalog": infoCatalog, "constraint_schema": s.Name, "constraint_name": name})
		}
		for _, c := range t.Checks {
			for i := range t.Columns {
				if mentionsIdent(c.Expr, t.Columns[i].Name) {
					add(t, i, c.Name)
				}
			}
		}
		for _, fk := range t.ForeignKeys {
			if parent := b.Cat.TableByOID(fk.RefOID); parent != nil {
				for _, c := range fk.RefColumns {
					add(parent, c, fk.Name)
				}
			}
		}
		for _, k := range t.Keys {
			if !k.IndexOnly {
				for _, c := range k.Columns {
					add(t, c, k.Name)
				}
			}
		}
	})
}

// mentionsIdent reports whether SQL text names the identifier outside
// quoted strings.
func mentionsIdent(sql, ident string) bool {
	inQuote := false
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '"' && strings.HasPrefix(sql[i+1:], ident+`"`):
			return true
		case strings.HasPrefix(sql[i:], ident) && !identByte(sql, i-1) && !identByte(sql, i+len(ident)):
			return true
		}
	}
	return false
}

func (b *Binder) infoReferentialConstraints(row func(map[string]types.Datum)) {
	rule := map[string]string{"": "NO ACTION", "a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
	b.eachConstraintTable(func(s *catalog.Schema, t *catalog.Table) {
		for _, fk := range t.ForeignKeys {
			vals := map[string]types.Datum{"constraint_catalog": infoCatalog, "constraint_schema": s.Name, "constraint_name": fk.Name,
				"match_option": "NONE", "update_rule": rule[fk.OnUpdate], "delete_rule": rule[fk.OnDelete]}
			if key, parent := b.referencedKey(fk); parent != nil && key.Name != "" {
				vals["unique_constraint_catalog"], vals["unique_constraint_schema"], vals["unique_constraint_name"] = infoCatalog, parent.Schema, key.Name
			}
			row(vals)
		}
	})
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
