package exec

import (
	"slices"
	"testing"
)

// TestFramePiecesLeaveOutTheExclusion checks each exclusion against its
// definition on one partition whose position 3 has the peers 2..4.
func TestFramePiecesLeaveOutTheExclusion(t *testing.T) {
	const i, peerStart, peerEnd = 3, 2, 5
	tests := []struct {
		name    string
		exclude FrameExclusion
		lo, hi  int
		want    []int
	}{
		{"no others", ExcludeNoOthers, 0, 7, []int{0, 1, 2, 3, 4, 5, 6}},
		{"current row", ExcludeCurrentRow, 0, 7, []int{0, 1, 2, 4, 5, 6}},
		{"group", ExcludeGroup, 0, 7, []int{0, 1, 5, 6}},
		{"ties", ExcludeTies, 0, 7, []int{0, 1, 3, 5, 6}},
		{"ties, frame inside the peers", ExcludeTies, 3, 4, []int{3}},
		{"ties, frame after the row", ExcludeTies, 4, 7, []int{5, 6}},
		{"current row, frame before it", ExcludeCurrentRow, 0, 2, []int{0, 1}},
		{"group, empty frame", ExcludeGroup, 4, 4, nil},
		{"group, frame within the peers", ExcludeGroup, 2, 5, nil},
	}
	for _, tt := range tests {
		got := framePieces(Frame{Exclude: tt.exclude}, i, tt.lo, tt.hi, peerStart, peerEnd, nil)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
