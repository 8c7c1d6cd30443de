package datafile

import (
	"fmt"
	"testing"
)

// TestCutRuns: a file's row groups are cut into k contiguous runs of
// about equal rows, every row group in exactly one run.
func TestCutRuns(t *testing.T) {
	for _, tc := range []struct {
		rows []int64
		k    int64
		want string
	}{
		{[]int64{10, 10, 10, 10}, 2, "[0-2:20 2-4:20]"},
		{[]int64{10, 10, 10, 10}, 4, "[0-1:10 1-2:10 2-3:10 3-4:10]"},
		{[]int64{10, 10, 10}, 1, "[0-3:30]"},
		{[]int64{100, 1, 1, 1, 1}, 2, "[0-1:100 1-5:4]"},
		{[]int64{1, 1, 1, 1, 100}, 2, "[0-5:104]"},
		{[]int64{5, 5, 5, 5, 5, 5, 5}, 3, "[0-3:15 3-5:10 5-7:10]"},
		{nil, 3, "[0-0:0]"},
	} {
		var total int64
		for _, n := range tc.rows {
			total += n
		}
		var got []string
		for _, p := range cutRuns(0, tc.rows, total, tc.k) {
			got = append(got, fmt.Sprintf("%d-%d:%d", p.First, p.Last, p.Rows))
		}
		if s := fmt.Sprint(got); s != tc.want {
			t.Errorf("%v into %d: %s, want %s", tc.rows, tc.k, s, tc.want)
		}
	}
}
