package exec

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestCivilFromDays agrees with Go's calendar (proleptic Gregorian,
// astronomical years) across BC dates, leap days and far futures.
func TestCivilFromDays(t *testing.T) {
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for z := int64(-1_200_000); z <= 1_200_000; z += 37 {
		for _, d := range []int64{z, z + 1, z - 1} {
			tm := epoch.AddDate(0, 0, int(d))
			y, m, day := civilFromDays(d)
			if y != int64(tm.Year()) || m != int64(tm.Month()) || day != int64(tm.Day()) {
				t.Fatalf("day %d: %d-%d-%d, Go says %s", d, y, m, day, tm.Format("2006-01-02"))
			}
		}
	}
}

// TestDatePartTypedLoop: the typed loop gives the per-row kernel's values
// for each unit it covers, on dates and timestamps with NULLs, as numeric
// (extract) and float8 (date_part); other units still go by row.
func TestDatePartTypedLoop(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Ctx: context.Background(), Mem: mem, Env: &Env{Mem: mem}}
	dates := []types.Datum{int32(0), nil, int32(-719529), int32(10471), int32(-1), int32(11016), int32(2932896)}
	stamps := []types.Datum{int64(0), int64(-1), nil, int64(904_694_400_000_000), int64(-62_167_219_200_000_001), int64(951_782_400_000_000)}
	for _, src := range []struct {
		t    types.T
		vals []types.Datum
	}{{types.DateT, dates}, {types.TimestampT, stamps}} {
		bld := array.NewBuilder(mem, src.t.Arrow())
		for _, v := range src.vals {
			AppendDatum(bld, v)
		}
		col := bld.NewArray()
		bld.Release()
		for _, def := range []struct {
			name string
			ret  types.T
		}{{"extract", types.NumericT(0, 6)}, {"date_part", types.Float8T}} {
			_, _, k, err := resolveDatePart(def.name, def.ret)([]types.T{types.TextT, src.t})
			if err != nil {
				t.Fatal(err)
			}
			for _, unit := range []string{"year", "Month", "day", "quarter", "doy"} {
				units := ConstArray(mem, types.TextT, unit, col.Len())
				got, err := k(ec, []arrow.Array{units, col}, col.Len())
				if err != nil {
					t.Fatal(err)
				}
				var want []types.Datum
				for i := 0; i < col.Len(); i++ {
					var w types.Datum
					if d := DatumAt(col, i); d != nil {
						f, err := datePartIn(strings.ToLower(unit), src.t, d, nil)
						if err != nil {
							t.Fatal(err)
						}
						if w, err = CastDatum(f, types.Float8T, def.ret, true); err != nil {
							t.Fatal(err)
						}
					}
					want = append(want, w)
				}
				for i, w := range want {
					if g := DatumAt(got, i); CompareDatums(def.ret, g, w) != 0 || (g == nil) != (w == nil) {
						t.Fatalf("%s(%s, %s row %d): %v, want %v", def.name, unit, src.t, i, g, w)
					}
				}
				got.Release()
				units.Release()
			}
		}
		col.Release()
	}
}
