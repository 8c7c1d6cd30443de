package catalog

import (
	"testing"

	"github.com/weftdb/weft/sql/types"
)

// TestTableSchemaFollowsColumns: a table's schema is made once and shared,
// and a change of its columns (name, type, NOT NULL, another column)
// gives the schema of the new columns.
func TestTableSchemaFollowsColumns(t *testing.T) {
	tbl := &Table{Columns: []Column{{Name: "a", Type: types.Int4T}, {Name: "b", Type: types.TextT}}}
	first := tbl.ArrowSchema()
	if again := tbl.ArrowSchema(); again != first {
		t.Errorf("a second call made another schema")
	}
	changes := []struct {
		name   string
		change func([]Column) []Column
		want   string
	}{
		{"rename", func(c []Column) []Column { c[0].Name = "x"; return c }, "x: type=int32, nullable"},
		{"retype", func(c []Column) []Column { c[0].Type = types.Int8T; return c }, "x: type=int64, nullable"},
		{"not null", func(c []Column) []Column { c[0].NotNull = true; return c }, "x: type=int64"},
		{"add", func(c []Column) []Column { return append(c, Column{Name: "c", Type: types.BoolT}) }, "c: type=bool, nullable"},
	}
	for _, ch := range changes {
		// (ALTER TABLE gives the table new columns)
		tbl.Columns = ch.change(append([]Column(nil), tbl.Columns...))
		got := tbl.ArrowSchema()
		want := tbl.Columns
		if got.NumFields() != len(want) {
			t.Fatalf("%s: %d fields, want %d", ch.name, got.NumFields(), len(want))
		}
		f := got.Field(0)
		if ch.name == "add" {
			f = got.Field(len(want) - 1)
		}
		if f.String() != ch.want {
			t.Errorf("%s: field %s, want %s", ch.name, f.String(), ch.want)
		}
	}
}

// TestArrowSchemaOf: columns a table had get their own schema, its
// current columns its shared one.
func TestArrowSchemaOf(t *testing.T) {
	old := []Column{{Name: "a", Type: types.Int4T}}
	tbl := &Table{Columns: []Column{{Name: "a", Type: types.Int4T}, {Name: "b", Type: types.TextT}}}
	if got := tbl.ArrowSchemaOf(append([]Column(nil), tbl.Columns...)); got != tbl.ArrowSchema() {
		t.Errorf("the current columns made another schema")
	}
	if got := tbl.ArrowSchemaOf(old); got.NumFields() != 1 || got.Field(0).Name != "a" {
		t.Errorf("schema of the old columns: %v", got)
	}
}
