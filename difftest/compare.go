package difftest

import (
	"fmt"
	"sort"
	"strings"
)

// compare says how Weft's answer differs from PostgreSQL's: a short class
// (for counting and for shrinking, which keeps a reproduction in the same
// class) and a description; an empty class when they agree.
func compare(pg, wf answer, ordered, equalIntervals bool) (class, detail string) {
	switch {
	case pg.code != "" && wf.code != "":
		if pg.code[:2] == wf.code[:2] {
			return "", ""
		}
		return "error class " + wf.code[:2] + " where PostgreSQL gives " + pg.code[:2],
			fmt.Sprintf("PostgreSQL: %s %s\nWeft: %s %s", pg.code, pg.msg, wf.code, wf.msg)
	case pg.code != "":
		return "no error where PostgreSQL gives " + pg.code, fmt.Sprintf("PostgreSQL: %s %s\nWeft: %d rows", pg.code, pg.msg, len(wf.rows))
	case wf.code != "":
		return "error " + wf.code + " where PostgreSQL answers", fmt.Sprintf("Weft: %s %s", wf.code, wf.msg)
	}
	if len(pg.rows) > 0 && len(wf.rows) > 0 && len(pg.rows[0]) != len(wf.rows[0]) {
		return "column count", fmt.Sprintf("PostgreSQL %d columns, Weft %d", len(pg.rows[0]), len(wf.rows[0]))
	}
	// the rows, as a multiset
	p, w := normalize(pg, pg.float, pg.interval, pg.bpchar, equalIntervals), normalize(wf, pg.float, pg.interval, pg.bpchar, equalIntervals)
	sp, sw := sortedCopy(p), sortedCopy(w)
	if strings.Join(sp, "\n") != strings.Join(sw, "\n") {
		return "rows differ", showDiff(p, w)
	}
	if !ordered {
		return "", ""
	}
	// their order, where equal values (1 mon and 30 days; -0 and 0; 'zz'
	// and 'zz  ' as char) may come in either order
	p, w = normalize(pg, pg.float, pg.interval, pg.bpchar, true), normalize(wf, pg.float, pg.interval, pg.bpchar, true)
	if strings.Join(p, "\n") != strings.Join(w, "\n") {
		return "order differs", showDiff(p, w)
	}
	return "", ""
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func showDiff(p, w []string) string {
	show := func(rows []string) string {
		var sb strings.Builder
		for i, r := range rows {
			if i == 12 {
				fmt.Fprintf(&sb, "  … %d rows in all\n", len(rows))
				break
			}
			sb.WriteString("  " + strings.NewReplacer("\x00NULL", "NULL", "\x01", " | ").Replace(r) + "\n")
		}
		return sb.String()
	}
	return "PostgreSQL:\n" + show(p) + "Weft:\n" + show(w)
}

// sameMultiset compares two of Weft's own answers (metamorphic checks).
func sameMultiset(a, b answer) bool {
	x, y := normalize(a, nil, nil, nil, false), normalize(b, nil, nil, nil, false)
	sort.Strings(x)
	sort.Strings(y)
	return strings.Join(x, "\n") == strings.Join(y, "\n")
}

func sortStrings(s []string) { sort.Strings(s) }
