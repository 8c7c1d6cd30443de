package engine_test

import (
	"fmt"
	"slices"
	"testing"
)

// TestParseCacheAnswers: queries sent as text with other integer
// constants reuse the parse tree of the first (sql/parser's Cache);
// each answers as it does in a fresh session, where it is parsed anew,
// however many of its shape ran before it.
func TestParseCacheAnswers(t *testing.T) {
	setup := []string{
		"CREATE TABLE pc (id int PRIMARY KEY, g int, v text)",
		"INSERT INTO pc SELECT i, i % 7, 'v' || i FROM generate_series(1, 200) i",
	}
	shapes := []string{
		"SELECT v FROM pc WHERE id = %d",
		"SELECT g, count(*) FROM pc WHERE id < %d GROUP BY 1 ORDER BY 1",
		"SELECT id, g, v FROM pc ORDER BY %d, 1 LIMIT 3",
		"SELECT id, v FROM pc WHERE id BETWEEN %d AND 150 ORDER BY 2 DESC LIMIT 4 OFFSET 1",
		"SELECT g, sum(id) FROM pc WHERE id > %d GROUP BY ROLLUP (g) ORDER BY 1, 2",
		"SELECT (SELECT max(id) FROM pc WHERE g = %d), (ARRAY[1, 2, 3])[2]",
		"SELECT CAST(%d AS varchar(3))",
		"SELECT count(*) FROM pc WHERE id IN (%d, 5, 9)",
	}
	long := openSessions(t, 1)[0]
	for _, sql := range setup {
		mustExec(t, long, sql)
	}
	for _, shape := range shapes {
		for _, n := range []int{3, 1, 2, 3, 1} {
			sql := fmt.Sprintf(shape, n)
			got := rows(t, long, sql)
			fresh := openSessions(t, 1)[0]
			for _, s := range setup {
				mustExec(t, fresh, s)
			}
			if want := rows(t, fresh, sql); !slices.Equal(got, want) {
				t.Errorf("%s: %v, a fresh session says %v", sql, got, want)
			}
		}
	}
}
