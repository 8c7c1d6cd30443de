package plpgsql

import (
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

func TestCompileErrors(t *testing.T) {
	sig := Signature{Name: "f", Params: []Param{{Name: "a", Type: "int", Mode: 'i'}}, Result: "int"}
	tests := []struct {
		body string
		code string // "" compiles
	}{
		{"BEGIN RETURN a + 1; END", ""},
		{"BEGIN RETRUN 1; END", sqlerr.SyntaxError},
		{"BEGIN SELEC 1; RETURN 1; END", sqlerr.SyntaxError},
		{"BEGIN RETURN (a +; END", sqlerr.SyntaxError},
		{"DECLARE c CONSTANT int := 1; BEGIN c := 2; RETURN c; END", "22005"},
		{"BEGIN RETURN 1; EXCEPTION WHEN no_such_condition THEN RETURN 2; END", sqlerr.UndefinedObject},
		{"DECLARE c CURSOR FOR SELECT 1; BEGIN OPEN c; RETURN 1; END", sqlerr.FeatureNotSupported},
		{"BEGIN RAISE NOTICE 'two % %', a; RETURN 1; END", sqlerr.SyntaxError},
		{"BEGIN COMMIT; RETURN 1; END", sqlerr.FeatureNotSupported},
	}
	for _, tc := range tests {
		_, err := Compile(sig, tc.body)
		if got := sqlerr.Code(err); got != tc.code {
			t.Errorf("%s: %v (%s), want %q", tc.body, err, got, tc.code)
		}
	}
}

func TestAssignmentOperator(t *testing.T) {
	tests := []struct {
		stmt, value string
	}{
		{"x := 1", " 1"},
		{"x = y = 2", " y = 2"},
		{`"a:=b" := 3`, " 3"},
		{"r.f := r.f + 1", " r.f + 1"},
		{"a[i = 1] := 4", " 4"},
	}
	for _, tc := range tests {
		i := assignmentOperator(tc.stmt)
		if i < 0 || tc.stmt[i:] != tc.value {
			t.Errorf("%q: value at %d, want %q", tc.stmt, i, tc.value)
		}
	}
}

func TestConditionMatches(t *testing.T) {
	tests := []struct {
		cond, code string
		want       bool
	}{
		{"division_by_zero", "22012", true},
		{"division_by_zero", "22003", false},
		{"data_exception", "22012", true}, // a class catches its codes
		{"22012", "22012", true},
		{"22000", "22P02", true},
		{"others", "23505", true},
		{"others", "57014", false}, // cancellation is not caught
		{"unique_violation", "23505", true},
	}
	for _, tc := range tests {
		if got := conditionMatches(tc.cond, tc.code); got != tc.want {
			t.Errorf("%s catches %s: %v, want %v", tc.cond, tc.code, got, tc.want)
		}
	}
}
