package driver_test

import (
	"fmt"
	"testing"

	"github.com/weftdb/weft/driver"
)

// TestArrayScan writes slices as arrays and reads them back through
// driver.Array.
func TestArrayScan(t *testing.T) {
	db := openChecked(t)
	mustExec(t, db, "CREATE TABLE arr (tags text[], ids bigint[], ratios double precision[], flags boolean[], maybe integer[])")
	one := int32(1)
	mustExec(t, db, "INSERT INTO arr VALUES ($1, $2, $3, $4, $5)",
		driver.Array(&[]string{"a", `q"uote`, "with,comma", "NULL", ""}), []int64{-1, 9007199254740993}, []float64{0.5, 1e-7},
		[]bool{true, false}, []*int32{&one, nil})
	var (
		tags   []string
		ids    []int64
		ratios []float32
		flags  []bool
		maybe  []*int32
	)
	err := db.QueryRow("SELECT tags, ids, ratios, flags, maybe FROM arr").
		Scan(driver.Array(&tags), driver.Array(&ids), driver.Array(&ratios), driver.Array(&flags), driver.Array(&maybe))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%q %v %v %v %d %v", tags, ids, ratios, flags, *maybe[0], maybe[1])
	if want := `["a" "q\"uote" "with,comma" "NULL" ""] [-1 9007199254740993] [0.5 1e-07] [true false] 1 <nil>`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	var strict []int32
	if err := db.QueryRow("SELECT maybe FROM arr").Scan(driver.Array(&strict)); err == nil {
		t.Errorf("a NULL element went into []int32: %v", strict)
	}
	tags = []string{"stale"}
	if err := db.QueryRow("SELECT NULL::text[]").Scan(driver.Array(&tags)); err != nil || tags != nil {
		t.Errorf("NULL array: %v (%v)", tags, err)
	}
	var nilSlice []string
	var isNull bool
	if err := db.QueryRow("SELECT $1::text[] IS NULL", driver.Array(&nilSlice)).Scan(&isNull); err != nil || !isNull {
		t.Errorf("a nil slice is NULL: %v (%v)", isNull, err)
	}
}
