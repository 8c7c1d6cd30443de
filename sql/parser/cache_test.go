package parser

import (
	"strconv"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"

	"google.golang.org/protobuf/proto"
)

// TestCacheGivesTheParsersTrees: every query, parsed through the cache
// after another of its shape, gets exactly the tree the parser makes of
// it (constants, locations and all); the shapes the cache can reuse are
// reused, the others parsed afresh.
func TestCacheGivesTheParsersTrees(t *testing.T) {
	cases := []struct {
		first, then string
		reused      bool
	}{
		{"SELECT abalance FROM pgbench_accounts WHERE aid = 12345;", "SELECT abalance FROM pgbench_accounts WHERE aid = 99999;", true},
		{"SELECT a, b FROM t WHERE a BETWEEN 10 AND 20 ORDER BY 2 LIMIT 5", "SELECT a, b FROM t WHERE a BETWEEN 30 AND 40 ORDER BY 1 LIMIT 7", true},
		{"SELECT x[1], CAST(7 AS int), 3::bigint, f(4, 5) FROM t GROUP BY 1", "SELECT x[2], CAST(8 AS int), 9::bigint, f(1, 2) FROM t GROUP BY 2", true},
		{"SELECT * FROM t WHERE id IN (1, 2, 3) OFFSET 4", "SELECT * FROM t WHERE id IN (5, 6, 7) OFFSET 8", true},
		{"SELECT * FROM t1 WHERE c2 = 1", "SELECT * FROM t1 WHERE c2 = 2", true},
		{"SELECT 1", "SELECT 2", true},
		{"SELECT now()", "SELECT now()", true},
		// a value past int32 is a numeric constant to the grammar
		{"SELECT 5 FROM t WHERE a = 1000000000", "SELECT 5 FROM t WHERE a = 2147483647", true},
		{"SELECT 5 FROM t WHERE a = 1000000000", "SELECT 5 FROM t WHERE a = 9000000000", false},
		// negated constants are folded by the grammar into a constant at
		// the minus sign
		{"SELECT a FROM t WHERE a = -5", "SELECT a FROM t WHERE a = -6", true},
		{"SELECT a FROM t WHERE a = - 5", "SELECT a FROM t WHERE a = - 6", true},
		{"SELECT a FROM t WHERE a = -\n 5", "SELECT a FROM t WHERE a = -\n 0", true},
		{"SELECT a FROM t WHERE a = -0", "SELECT a FROM t WHERE a = -7", true},
		{"SELECT -2147483647", "SELECT -1000000000", true},
		// -2147483648 is a numeric constant to the grammar (it negates 2147483648)
		{"SELECT -2147483647", "SELECT -2147483648", false},
		{"SELECT a - 5, a-5, a -5, 3-5, -a FROM t", "SELECT a - 6, a-7, a -8, 9-1, -a FROM t", true},
		{"SELECT a - -5, a+-5 FROM t", "SELECT a - -6, a+-7 FROM t", true},
		// a constant negated twice is at the outer minus sign: not reused
		{"SELECT - - 5 FROM t", "SELECT - - 7 FROM t", false},
		{"SELECT -(-5) FROM t", "SELECT -(-8) FROM t", false},
		{"SELECT a FROM t LIMIT -1", "SELECT a FROM t LIMIT -2", true},
		// data-changing statements, as pgbench sends them
		{"UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 5678;", "UPDATE pgbench_accounts SET abalance = abalance + 4321 WHERE aid = 8765;", false},
		{"UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 5678;", "UPDATE pgbench_accounts SET abalance = abalance + -4321 WHERE aid = 8765;", true},
		{"UPDATE pgbench_tellers SET tbalance = tbalance + 2345 WHERE tid = 7;", "UPDATE pgbench_tellers SET tbalance = tbalance + 5432 WHERE tid = 3;", true},
		{"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 5678, -1234, CURRENT_TIMESTAMP);",
			"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (3, 9, 8765, -4321, CURRENT_TIMESTAMP);", true},
		{"INSERT INTO t VALUES (1, -2), (3, 4) ON CONFLICT (a) DO UPDATE SET b = 5 RETURNING a + 6",
			"INSERT INTO t VALUES (7, -8), (9, 0) ON CONFLICT (a) DO UPDATE SET b = 1 RETURNING a + 2", true},
		{"DELETE FROM t WHERE a = -12 AND b IN (3, 4) RETURNING 5", "DELETE FROM t WHERE a = -34 AND b IN (5, 6) RETURNING 7", true},
		{"UPDATE t SET a = 1 WHERE b = 2", "UPDATE t SET a = 3 WHERE b = 4", true},
		{"UPDATE t SET a = 1 WHERE b = 2000000000", "UPDATE t SET a = 3 WHERE b = 4000000000", false},
		{"BEGIN;", "BEGIN;", true},
		{"END;", "END;", true},
		{"SAVEPOINT s1", "SAVEPOINT s1", true},
		{"BEGIN ISOLATION LEVEL REPEATABLE READ", "BEGIN ISOLATION LEVEL REPEATABLE READ", true},
		// other statements are parsed afresh
		{"CREATE TABLE t (a varchar(10))", "CREATE TABLE t (a varchar(20))", false},
		// float(n) is a type the grammar picks by n
		{"SELECT CAST(a AS float(3)) FROM t", "SELECT CAST(a AS float(4)) FROM t", false},
		{"SELECT CAST(a AS float(3)) FROM t", "SELECT CAST(a AS float(9)) FROM t", false},
		{"SELECT 1.5", "SELECT 2.5", false},
		{"SELECT 1e5", "SELECT 2e5", false},
		{"SELECT 'a' FROM t WHERE a = 1", "SELECT 'a' FROM t WHERE a = 2", false},
		{"SELECT a FROM t WHERE a = 1 -- 1", "SELECT a FROM t WHERE a = 2 -- 1", false},
		{"SELECT $1 FROM t WHERE a = 1", "SELECT $1 FROM t WHERE a = 2", false},
		{"SELECT 1; SELECT 2", "SELECT 3; SELECT 4", false},
		{"SELECT 0x1F", "SELECT 0x2F", false},
	}
	for _, c := range cases {
		t.Run(c.first, func(t *testing.T) {
			var cache Cache
			first, err := cache.Parse(c.first)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Parse(c.first)
			if !equalTrees(first, want) {
				t.Fatalf("first parse differs")
			}
			for _, sql := range []string{c.then, c.first, c.then} {
				got, err := cache.Parse(sql)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Parse(sql)
				if err != nil {
					t.Fatal(err)
				}
				if !equalTrees(got, want) {
					t.Fatalf("%s: the cache's tree differs from the parser's", sql)
				}
				if reused := len(got) > 0 && len(first) > 0 && got[0] == first[0]; sql == c.then && reused != c.reused {
					t.Errorf("%s: reused %v, want %v", sql, reused, c.reused)
				}
			}
		})
	}
}

func equalTrees(a, b []*pg.RawStmt) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestCacheErrors: a syntax error through the cache is the parser's.
func TestCacheErrors(t *testing.T) {
	var cache Cache
	_, want := Parse("SELEC 1")
	if _, err := cache.Parse("SELEC 1"); err == nil || err.Error() != want.Error() {
		t.Errorf("error %v, want %v", err, want)
	}
}

// TestCacheStaysBounded: past maxCachedShapes shapes the cache holds no
// more, and every query still gets the parser's tree.
func TestCacheStaysBounded(t *testing.T) {
	var cache Cache
	for i := 0; i < 3*maxCachedShapes; i++ {
		// a new shape each time (digits in a name are the name's)
		sql := "SELECT a FROM t" + strconv.Itoa(i%(2*maxCachedShapes)) + " WHERE a = " + strconv.Itoa(i)
		got, err := cache.Parse(sql)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := Parse(sql); !equalTrees(got, want) {
			t.Fatalf("%s: the cache's tree differs from the parser's", sql)
		}
		if len(cache.entries) > maxCachedShapes {
			t.Fatalf("%d shapes cached, at most %d wanted", len(cache.entries), maxCachedShapes)
		}
	}
	if len(cache.entries) != maxCachedShapes {
		t.Errorf("%d shapes cached, want %d", len(cache.entries), maxCachedShapes)
	}
}
