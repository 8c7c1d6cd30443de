package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec"
)

// printResult prints a result the way psql's aligned format does.
func printResult(out io.Writer, r *engine.Result) {
	for _, n := range r.Notices {
		fmt.Fprintln(out, "NOTICE: "+n)
	}
	if !r.Query {
		fmt.Fprintln(out, r.Tag)
		return
	}
	ncols := len(r.Columns)
	widths := make([]int, ncols)
	numeric := make([]bool, ncols)
	for i, c := range r.Columns {
		widths[i] = utf8.RuneCountInString(c.Name)
		numeric[i] = c.Type.IsNumber()
	}
	var rows [][]string
	for _, b := range r.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]string, ncols)
			for c := 0; c < ncols; c++ {
				row[c] = r.FormatValue(c, exec.DatumAt(b.Column(c), i))
				widths[c] = max(widths[c], utf8.RuneCountInString(row[c]))
			}
			rows = append(rows, row)
		}
	}
	header := make([]string, ncols)
	sep := make([]string, ncols)
	for i, c := range r.Columns {
		header[i] = center(c.Name, widths[i])
		sep[i] = strings.Repeat("-", widths[i]+2)
	}
	fmt.Fprintln(out, " "+strings.Join(header, " | "))
	fmt.Fprintln(out, strings.Join(sep, "+"))
	for _, row := range rows {
		cells := make([]string, ncols)
		for i, v := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v))
			if numeric[i] {
				cells[i] = pad + v
			} else {
				cells[i] = v + pad
			}
		}
		fmt.Fprintln(out, " "+strings.TrimRight(strings.Join(cells, " | "), " "))
	}
	noun := "rows"
	if len(rows) == 1 {
		noun = "row"
	}
	fmt.Fprintf(out, "(%d %s)\n\n", len(rows), noun)
}

func center(s string, w int) string {
	n := utf8.RuneCountInString(s)
	left := (w - n) / 2
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", w-n-left)
}
