package sqlerr

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"weft error", New(FeatureNotSupported, "x"), FeatureNotSupported},
		{"wrapped weft error", fmt.Errorf("reading: %w", New(DivisionByZero, "y")), DivisionByZero},
		{"canceled", fmt.Errorf("scan: %w", context.Canceled), QueryCanceled},
		{"plain error", errors.New("boom"), Internal},
	}
	for _, c := range cases {
		if got := Code(c.err); got != c.want {
			t.Errorf("%s: Code = %q, want %q", c.name, got, c.want)
		}
	}
}
