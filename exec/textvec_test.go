package exec

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestTextKernelsMatchRowFunctions runs the buffer kernels (lower, upper,
// length, substr, ||) over a sliced array of random multi-byte values
// with NULLs and compares every value with the row-by-row definition.
func TestTextKernelsMatchRowFunctions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	rng := rand.New(rand.NewSource(3))
	alphabet := []rune{'a', 'Z', ' ', 'é', 'É', 'ß', 'Σ', 'ς', '日', 'İ', 'ǅ'}
	const n = 300
	vals, valid := make([]string, n), make([]bool, n)
	starts, counts := make([]int32, n), make([]int32, n)
	for i := range vals {
		r := make([]rune, rng.Intn(9))
		for j := range r {
			r[j] = alphabet[rng.Intn(len(alphabet))]
		}
		vals[i], valid[i] = string(r), rng.Intn(6) != 0
		starts[i], counts[i] = int32(rng.Intn(14)-4), int32(rng.Intn(8))
	}
	sb := array.NewStringBuilder(mem)
	sb.AppendValues(vals, valid)
	whole := sb.NewArray()
	sb.Release()
	defer whole.Release()
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(starts, nil)
	startArr := ib.NewArray()
	ib.AppendValues(counts, nil)
	countArr := ib.NewArray()
	ib.Release()
	defer startArr.Release()
	defer countArr.Release()
	// a slice, so that offsets do not start at zero
	const from, to = 7, 250
	in := array.NewSlice(whole, from, to)
	defer in.Release()
	st, ct := array.NewSlice(startArr, from, to), array.NewSlice(countArr, from, to)
	defer st.Release()
	defer ct.Release()
	m := to - from

	check := func(name string, k Kernel, args []arrow.Array, want func(i int) types.Datum) {
		t.Helper()
		out, err := k(ec, args, m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer out.Release()
		for i := 0; i < m; i++ {
			if got, w := DatumAt(out, i), want(from+i); fmt.Sprint(got) != fmt.Sprint(w) {
				t.Fatalf("%s row %d (%q): got %v, want %v", name, from+i, vals[from+i], got, w)
			}
		}
	}
	ifValid := func(i int, d types.Datum) types.Datum {
		if !valid[i] {
			return nil
		}
		return d
	}
	check("upper", textKernel(types.TextT, nil, asciiUpper), []arrow.Array{in}, func(i int) types.Datum { return ifValid(i, strings.ToUpper(vals[i])) })
	check("lower", textKernel(types.TextT, nil, asciiLower), []arrow.Array{in}, func(i int) types.Datum { return ifValid(i, strings.ToLower(vals[i])) })
	check("length", charLengthKernel(nil), []arrow.Array{in}, func(i int) types.Datum {
		return ifValid(i, int64(utf8.RuneCountInString(vals[i])))
	})
	check("substr", substrKernel(nil), []arrow.Array{in, st, ct}, func(i int) types.Datum {
		d, _ := substr([]types.Datum{vals[i], int64(starts[i]), int64(counts[i])})
		return ifValid(i, d)
	})
	check("substr from", substrKernel(nil), []arrow.Array{in, st}, func(i int) types.Datum {
		d, _ := substr([]types.Datum{vals[i], int64(starts[i])})
		return ifValid(i, d)
	})
	check("||", concatTextKernel(nil), []arrow.Array{in, in}, func(i int) types.Datum { return ifValid(i, vals[i]+vals[i]) })
	c := constText(mem, types.TextT, "é!", 5)
	defer c.Release()
	if got := c.(*array.String).ValueStr(4); got != "é!" || c.Len() != 5 || c.NullN() != 0 {
		t.Errorf("constant text: %v", c)
	}
}

func TestSubstrNegativeCount(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	s := constText(mem, types.TextT, "abc", 2)
	defer s.Release()
	one := ConstArray(mem, types.Int4T, int64(1), 2)
	defer one.Release()
	neg := ConstArray(mem, types.Int4T, int64(-1), 2)
	defer neg.Release()
	if out, err := substrKernel(nil)(ec, []arrow.Array{s, one, neg}, 2); err == nil {
		out.Release()
		t.Fatal("a negative length was accepted")
	} else if !strings.Contains(err.Error(), "negative substring length") {
		t.Fatalf("error %v", err)
	}
}
