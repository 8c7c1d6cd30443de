package sqllogictest

import (
	"reflect"
	"testing"
)

func TestWriteShapeRewrite(t *testing.T) {
	split := WriteShape{SplitInserts: true}
	reversed := WriteShape{SplitInserts: true, Reverse: true}
	tests := []struct {
		name  string
		shape WriteShape
		sql   string
		want  []string
	}{
		{"off", WriteShape{}, "INSERT INTO t VALUES (1), (2)", []string{"INSERT INTO t VALUES (1), (2)"}},
		{"split", split, "INSERT INTO t VALUES (1, 'a'), (NULL, 'b')",
			[]string{"INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (NULL, 'b')"}},
		{"reversed", reversed, "INSERT INTO t VALUES (1), (2), (3)",
			[]string{"INSERT INTO t VALUES (3)", "INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (1)"}},
		{"column list keeps its order", reversed, "INSERT INTO t (b) VALUES (1), (2)",
			[]string{"INSERT INTO t (b) VALUES (1)", "INSERT INTO t (b) VALUES (2)"}},
		{"DEFAULT keeps its order", reversed, "INSERT INTO t VALUES (DEFAULT, 1), (DEFAULT, 2)",
			[]string{"INSERT INTO t VALUES (DEFAULT, 1)", "INSERT INTO t VALUES (DEFAULT, 2)"}},
		{"one row", split, "INSERT INTO t VALUES (1)", []string{"INSERT INTO t VALUES (1)"}},
		{"RETURNING is left whole", split, "INSERT INTO t VALUES (1), (2) RETURNING a", []string{"INSERT INTO t VALUES (1), (2) RETURNING a"}},
		{"ON CONFLICT is left whole", split, "INSERT INTO t VALUES (1), (1) ON CONFLICT DO NOTHING",
			[]string{"INSERT INTO t VALUES (1), (1) ON CONFLICT DO NOTHING"}},
		{"not an insert", split, "SELECT 1", []string{"SELECT 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.shape.rewrite(tt.sql); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rewrite(%q) = %q, want %q", tt.sql, got, tt.want)
			}
		})
	}
}
