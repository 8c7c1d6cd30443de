package datafile

import (
	"context"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// A Source is read one partition per file, unless its Parquet files are
// fewer than the partitions wanted and large: then each file's row
// groups are cut into runs (Pieces), each run a partition, so that one
// big file spreads over a process's partitions and a cluster's workers.

// Piece is a run of one Parquet file's row groups, read as a partition.
type Piece struct {
	File        int // index into Paths
	First, Last int // row groups First..Last-1
	Rows        int64
}

// SplitRowGroups cuts the source's Parquet files into at most parts
// pieces of contiguous row groups of about equal rows, none under
// minRows rows (files with fewer rows stay whole). Nil when the files
// stay one partition each: not Parquet, as many files as parts or more,
// too few rows, minRows 0, or a footer that does not read (the read
// reports it).
func (s *Source) SplitRowGroups(parts int, minRows int64) []Piece {
	if s.Format != "parquet" || minRows <= 0 || len(s.Paths) >= parts {
		return nil
	}
	groups := make([][]int64, len(s.Paths)) // rows of each file's row groups
	var total int64
	for i, path := range s.Paths {
		rows, ok := rowGroupRows(path)
		if !ok {
			return nil
		}
		groups[i] = rows
		for _, n := range rows {
			total += n
		}
	}
	want := min(int64(parts), total/minRows)
	if want <= int64(len(s.Paths)) {
		return nil
	}
	var pieces []Piece
	for i, rows := range groups {
		var fileRows int64
		for _, n := range rows {
			fileRows += n
		}
		k := max(1, min(int64(len(rows)), want*fileRows/total, fileRows/minRows))
		pieces = append(pieces, cutRuns(i, rows, fileRows, k)...)
	}
	if len(pieces) <= len(s.Paths) {
		return nil
	}
	return pieces
}

// cutRuns cuts file's row groups (their rows, fileRows in all) into k
// contiguous runs: run j ends at the first row group whose end reaches
// (j+1)/k of the rows. A file without row groups is one empty piece.
func cutRuns(file int, rows []int64, fileRows, k int64) []Piece {
	if len(rows) == 0 {
		return []Piece{{File: file}}
	}
	var out []Piece
	cur := Piece{File: file}
	var done int64
	for g, n := range rows {
		done += n
		cur.Rows += n
		j := int64(len(out)) + 1
		if done*k >= j*fileRows || g == len(rows)-1 {
			cur.Last = g + 1
			out = append(out, cur)
			cur = Piece{File: file, First: g + 1}
		}
	}
	return out
}

// rowGroupRows lists the rows of each row group of a Parquet file.
func rowGroupRows(path string) ([]int64, bool) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, false
	}
	defer pf.Close()
	rows := make([]int64, pf.NumRowGroups())
	for g := range rows {
		rows[g] = pf.MetaData().RowGroup(g).NumRows()
	}
	return rows, true
}

// OpenPiece reads a piece of the source: its row groups of its file.
func (s *Source) OpenPiece(ctx context.Context, mem memory.Allocator, p Piece, pd *Pushdown) (Reader, error) {
	cols := pd.columns(len(s.Names))
	if pd != nil && pd.BytesRead != nil && p.First == 0 {
		// (the file's size counted once, by its first piece)
		if fi, err := os.Stat(s.Paths[p.File]); err == nil {
			pd.BytesRead.Add(fi.Size())
		}
	}
	only := make([]int, 0, p.Last-p.First)
	for g := p.First; g < p.Last; g++ {
		only = append(only, g)
	}
	return s.openParquet(ctx, mem, s.Paths[p.File], cols, pd, only)
}
