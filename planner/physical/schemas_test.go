package physical

import (
	"fmt"
	"testing"

	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

func TestSchemaCacheSharesEqualSchemas(t *testing.T) {
	numeric := func(scale int32) types.T { return types.T{Kind: types.Numeric, Prec: 10, Scale: scale} }
	cases := []struct {
		name string
		a, b []logical.Column
		same bool
	}{
		{"same columns", []logical.Column{{Name: "a", T: types.Int4T}}, []logical.Column{{Name: "a", T: types.Int4T, ID: 7}}, true},
		{"other name", []logical.Column{{Name: "a", T: types.Int4T}}, []logical.Column{{Name: "b", T: types.Int4T}}, false},
		{"other type", []logical.Column{{Name: "a", T: types.Int4T}}, []logical.Column{{Name: "a", T: types.Int8T}}, false},
		{"other scale", []logical.Column{{Name: "a", T: numeric(2)}}, []logical.Column{{Name: "a", T: numeric(3)}}, false},
		// names running into each other must not make the same key
		{"split names", []logical.Column{{Name: "ab", T: types.Int4T}, {Name: "c", T: types.Int4T}}, []logical.Column{{Name: "a", T: types.Int4T}, {Name: "bc", T: types.Int4T}}, false},
		{"fewer columns", []logical.Column{{Name: "a", T: types.Int4T}}, []logical.Column{{Name: "a", T: types.Int4T}, {Name: "a", T: types.Int4T}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c SchemaCache
			sa, sb := c.Of(tc.a), c.Of(tc.b)
			if (sa == sb) != tc.same {
				t.Errorf("shared: %v, want %v", sa == sb, tc.same)
			}
			for _, pair := range []struct {
				cols []logical.Column
				got  string
			}{{tc.a, sa.String()}, {tc.b, sb.String()}} {
				if want := ArrowSchema(pair.cols).String(); pair.got != want {
					t.Errorf("schema %s, want %s", pair.got, want)
				}
			}
		})
	}
}

func TestSchemaCacheStaysBounded(t *testing.T) {
	var c SchemaCache
	for i := range 3 * maxCachedSchemas {
		cols := []logical.Column{{Name: fmt.Sprintf("c%d", i), T: types.Int4T}}
		if got := c.Of(cols).Field(0).Name; got != cols[0].Name {
			t.Fatalf("field %s, want %s", got, cols[0].Name)
		}
	}
	if len(c.schemas) > maxCachedSchemas {
		t.Errorf("%d schemas kept, at most %d wanted", len(c.schemas), maxCachedSchemas)
	}
}
