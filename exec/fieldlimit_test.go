package exec

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// The messages are PostgreSQL 15's, as it answers
//
//	SELECT concat_ws(',', repeat('x',600000000), repeat('y', 600000000))
//	SELECT string_agg(repeat('x',100000000), ',') FROM generate_series(1,11)
//	SELECT array_agg(repeat('x',100000000)) FROM generate_series(1,11)
//	SELECT repeat('x',600000000) || repeat('y', 600000000)
//
// (the sizes are too large to build in a test, so the accounting is fed
// them directly).
func TestFieldLimitAccounting(t *testing.T) {
	check := func(t *testing.T, err error, code, message, detail string) {
		t.Helper()
		var e *sqlerr.Error
		if !errors.As(err, &e) || e.Code != code || e.Message != message || e.Detail != detail {
			t.Fatalf("got %v, want %s %q %q", err, code, message, detail)
		}
	}
	t.Run("concat_ws", func(t *testing.T) {
		var b stringBuffer
		for _, n := range []int{600000000, 1} {
			if err := b.grow(n); err != nil {
				t.Fatal(err)
			}
		}
		check(t, b.grow(600000000), sqlerr.ProgramLimitExceeded, "out of memory", "Cannot enlarge string buffer containing 600000001 bytes by 600000000 more bytes.")
	})
	t.Run("||", func(t *testing.T) {
		check(t, checkConcatLength(600000000, 600000000), sqlerr.Internal, "invalid memory alloc request size 1200000004", "")
		if err := checkConcatLength(500000000, 500000000); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("array_agg", func(t *testing.T) {
		var a arrayBytes
		for range 10 {
			if err := a.add(100000000); err != nil {
				t.Fatal(err)
			}
		}
		check(t, a.add(100000000), sqlerr.ProgramLimitExceeded, "array size exceeds the maximum allowed (1073741823)", "")
	})
	t.Run("requested length", func(t *testing.T) {
		if err := checkRequestedLength(1073741819); err != nil {
			t.Fatal(err)
		}
		check(t, checkRequestedLength(1073741820), sqlerr.ProgramLimitExceeded, "requested length too large", "")
	})
}

// TestStringAggStopsAtLimit feeds string_agg a group already holding ten
// 100 MB values and ten delimiters but one: the next value fails like
// PostgreSQL, and the accumulator lets go of what it held.
func TestStringAggStopsAtLimit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	vals := stringArray(mem, "x")
	defer vals.Release()
	seps := stringArray(mem, ",")
	defer seps.Release()
	acc := &stringAggAcc{}
	if err := acc.Update(ec, []uint32{0}, 1, []arrow.Array{vals, seps}); err != nil {
		t.Fatal(err)
	}
	acc.sizes[0].len = 10*100000000 + 9
	big := stringArray(mem, string(make([]byte, 100000000)))
	defer big.Release()
	err := acc.Update(ec, []uint32{0}, 1, []arrow.Array{big, seps})
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != "54000" || e.Detail != "Cannot enlarge string buffer containing 1000000010 bytes by 100000000 more bytes." {
		t.Fatalf("got %v", err)
	}
	if acc.parts != nil {
		t.Error("the accumulator still holds its parts")
	}
}

func stringArray(mem memory.Allocator, v string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Append(v)
	return b.NewArray()
}

// TestSortStopsWhenCancelled: a cancelled statement's sort gives up
// instead of finishing its comparisons.
func TestSortStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	perm := allRows(1 << 18)
	compared := 0
	err := sortCancellable(&EvalContext{Ctx: ctx}, perm, func(i, j int) int { compared++; return j - i })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if compared > 1<<16 {
		t.Errorf("%d comparisons after the cancel", compared)
	}
	if err := sortCancellable(&EvalContext{Ctx: context.Background()}, perm, func(i, j int) int { return i - j }); err != nil {
		t.Fatal(err)
	}
	for i, row := range perm {
		if row != i {
			t.Fatalf("not sorted at %d: %d", i, row)
		}
	}
}
