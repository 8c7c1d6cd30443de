package binder

import (
	"strconv"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/types"
)

// information_schema views over privileges, roles, routine parameters and
// domains, with PostgreSQL 15's columns.
var infoPrivShapes = map[string][]catCol{
	"table_privileges":  tablePrivilegesShape,
	"role_table_grants": tablePrivilegesShape,
	"column_privileges": {{"grantor", tName}, {"grantee", tName}, {"table_catalog", tName}, {"table_schema", tName},
		{"table_name", tName}, {"column_name", tName}, {"privilege_type", tText}, {"is_grantable", tText}},
	"enabled_roles":    {{"role_name", tName}},
	"applicable_roles": {{"grantee", tName}, {"role_name", tName}, {"is_grantable", tText}},
	"parameters": {{"specific_catalog", tName}, {"specific_schema", tName}, {"specific_name", tName}, {"ordinal_position", tInt},
		{"parameter_mode", tText}, {"is_result", tText}, {"as_locator", tText}, {"parameter_name", tName}, {"data_type", tText},
		{"character_maximum_length", tInt}, {"character_octet_length", tInt}, {"numeric_precision", tInt}, {"numeric_precision_radix", tInt},
		{"numeric_scale", tInt}, {"datetime_precision", tInt}, {"udt_catalog", tName}, {"udt_schema", tName}, {"udt_name", tName},
		{"dtd_identifier", tName}, {"parameter_default", tText}},
	"domains": {{"domain_catalog", tName}, {"domain_schema", tName}, {"domain_name", tName}, {"data_type", tText},
		{"character_maximum_length", tInt}, {"character_octet_length", tInt}, {"numeric_precision", tInt}, {"numeric_precision_radix", tInt},
		{"numeric_scale", tInt}, {"datetime_precision", tInt}, {"domain_default", tText}, {"udt_catalog", tName}, {"udt_schema", tName},
		{"udt_name", tName}, {"dtd_identifier", tName}},
	// Weft has no triggers and no element types of its own kind
	"triggers": {{"trigger_catalog", tName}, {"trigger_schema", tName}, {"trigger_name", tName}, {"event_manipulation", tText},
		{"event_object_catalog", tName}, {"event_object_schema", tName}, {"event_object_table", tName}, {"action_order", tInt},
		{"action_condition", tText}, {"action_statement", tText}, {"action_orientation", tText}, {"action_timing", tText}},
}

var tablePrivilegesShape = []catCol{{"grantor", tName}, {"grantee", tName}, {"table_catalog", tName}, {"table_schema", tName},
	{"table_name", tName}, {"privilege_type", tText}, {"is_grantable", tText}, {"with_hierarchy", tText}}

// tablePrivs are the table privileges in the order PostgreSQL lists them.
var tablePrivs = []struct {
	priv   catalog.Priv
	name   string
	column bool // also a column privilege
}{
	{catalog.PrivInsert, "INSERT", true}, {catalog.PrivSelect, "SELECT", true}, {catalog.PrivUpdate, "UPDATE", true},
	{catalog.PrivDelete, "DELETE", false}, {catalog.PrivTruncate, "TRUNCATE", false}, {catalog.PrivReferences, "REFERENCES", true},
	{catalog.PrivTrigger, "TRIGGER", false},
}

// infoPrivView builds one of infoPrivShapes' relations.
func (b *Binder) infoPrivView(name string, row func(map[string]types.Datum)) {
	switch name {
	case "table_privileges", "role_table_grants", "column_privileges":
		// a column's privilege granted both on the table and on the
		// column is one row (the view is a UNION in PostgreSQL)
		enabled := b.enabledRoles()
		// as PostgreSQL's views, a grant shows when the user has the
		// privileges of its grantor or grantee (a superuser has every
		// role's), or it is to PUBLIC
		super := b.Cat.IsSuperuser(b.User)
		visible := func(grantor, grantee string) bool {
			return super || enabled[grantor] || enabled[grantee] || grantee == "PUBLIC"
		}
		seen := map[columnGrantRow]bool{}
		colRow := func(r columnGrantRow) {
			if seen[r] || !visible(r.grantor, r.grantee) {
				return
			}
			seen[r] = true
			row(map[string]types.Datum{"grantor": r.grantor, "grantee": r.grantee, "table_catalog": infoCatalog, "table_schema": r.schema,
				"table_name": r.table, "column_name": r.column, "privilege_type": r.privilege, "is_grantable": r.grantable})
		}
		b.eachTableGrant(func(s string, rel string, cols []string, it catalog.ACLItem, owner string) {
			grantee := it.Grantee
			if grantee == "" {
				grantee = "PUBLIC"
			}
			if name == "role_table_grants" && !enabled[it.Grantor] && !enabled[grantee] {
				return
			}
			if !visible(it.Grantor, grantee) {
				return
			}
			for _, p := range tablePrivs {
				if it.Privs&p.priv == 0 {
					continue
				}
				// the owner may always grant what it has
				grantable := yesNo(it.GrantOpt&p.priv != 0 || it.Grantee == owner)
				if name == "column_privileges" {
					if p.column {
						for _, c := range cols {
							colRow(columnGrantRow{it.Grantor, grantee, s, rel, c, p.name, grantable})
						}
					}
					continue
				}
				row(map[string]types.Datum{"grantor": it.Grantor, "grantee": grantee, "table_catalog": infoCatalog, "table_schema": s,
					"table_name": rel, "privilege_type": p.name, "is_grantable": grantable, "with_hierarchy": yesNo(p.priv == catalog.PrivSelect)})
			}
		})
		if name == "column_privileges" {
			b.eachColumnGrant(colRow)
		}
	case "enabled_roles":
		for r := range b.enabledRoles() {
			row(map[string]types.Datum{"role_name": r})
		}
	case "applicable_roles":
		enabled := b.enabledRoles()
		for _, m := range b.Cat.Memberships() {
			if enabled[m.Member] {
				row(map[string]types.Datum{"grantee": m.Member, "role_name": m.Role, "is_grantable": yesNo(m.Admin)})
			}
		}
	case "parameters":
		for _, f := range b.Cat.Functions() {
			// a table function's columns are its OUT parameters
			params := make([]viewColumn, 0, len(f.UDF.Args)+len(f.UDF.Columns))
			for _, a := range f.UDF.Args {
				params = append(params, viewColumn{t: a})
			}
			for _, c := range f.UDF.Columns {
				params = append(params, viewColumn{name: c.Name, t: c.T})
			}
			for i, p := range params {
				vals := columnTypeInfo(p.t)
				vals["specific_catalog"], vals["specific_schema"], vals["specific_name"] = infoCatalog, f.Schema, f.UDF.Name+"_"+strconv.Itoa(int(f.OID))
				vals["ordinal_position"], vals["parameter_mode"], vals["is_result"], vals["as_locator"] = int64(i+1), "IN", "NO", "NO"
				vals["dtd_identifier"] = strconv.Itoa(i + 1)
				if i >= len(f.UDF.Args) {
					vals["parameter_mode"], vals["parameter_name"] = "OUT", p.name
				}
				row(vals)
			}
		}
	case "domains":
		for _, u := range b.Cat.Types() {
			if !u.IsDomain() {
				continue
			}
			vals := columnTypeInfo(u.Base)
			vals["domain_catalog"], vals["domain_schema"], vals["domain_name"], vals["dtd_identifier"] = infoCatalog, u.Schema, u.Name, "1"
			row(vals)
		}
	}
}

// eachTableGrant calls f with every item of every table's and view's
// effective ACL.
func (b *Binder) eachTableGrant(f func(schema, rel string, cols []string, it catalog.ACLItem, owner string)) {
	for _, s := range b.Cat.Schemas() {
		for _, t := range sortedTables(s.Tables) {
			p := b.Cat.Privileges(t.OID, catalog.KindTable)
			cols := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				cols[i] = c.Name
			}
			for _, it := range p.EffectiveACL() {
				f(s.Name, t.Name, cols, it, p.Owner)
			}
		}
		for _, v := range sortedTables(s.Views) {
			p := b.Cat.Privileges(v.OID, catalog.KindView)
			var cols []string
			for _, c := range b.viewColumns(v) {
				cols = append(cols, c.name)
			}
			for _, it := range p.EffectiveACL() {
				f(s.Name, v.Name, cols, it, p.Owner)
			}
		}
	}
}

// enabledRoles are the current user and the roles it is a member of,
// directly or through others.
func (b *Binder) enabledRoles() map[string]bool {
	enabled := map[string]bool{b.User: true}
	members := b.Cat.Memberships()
	for grown := true; grown; {
		grown = false
		for _, m := range members {
			if enabled[m.Member] && !enabled[m.Role] {
				enabled[m.Role], grown = true, true
			}
		}
	}
	return enabled
}

// columnGrantRow is one row of information_schema.column_privileges.
type columnGrantRow struct {
	grantor, grantee, schema, table, column, privilege, grantable string
}

// eachColumnGrant lists the privileges granted on columns themselves
// (GRANT SELECT (a) ON t), one row per privilege.
func (b *Binder) eachColumnGrant(f func(columnGrantRow)) {
	for _, s := range b.Cat.Schemas() {
		for _, t := range sortedTables(s.Tables) {
			owner := b.Cat.Privileges(t.OID, catalog.KindTable).Owner
			for _, c := range t.Columns {
				for _, it := range c.ACL {
					grantee := it.Grantee
					if grantee == "" {
						grantee = "PUBLIC"
					}
					for _, p := range tablePrivs {
						if p.column && it.Privs&p.priv != 0 {
							grantable := yesNo(it.GrantOpt&p.priv != 0 || it.Grantee == owner)
							f(columnGrantRow{it.Grantor, grantee, s.Name, t.Name, c.Name, p.name, grantable})
						}
					}
				}
			}
		}
	}
}
