package pgwire

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The real clients, driven against a real server: psql 15 from Debian's
// postgresql-client and psycopg2 from python3-psycopg2 (`make tools`
// installs both). Without them a test is skipped, unless
// WEFT_REQUIRE_POSTGRES is set (CI), when it fails.

func needTool(t *testing.T, path string) string {
	t.Helper()
	found, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%s is not installed; run `make tools`", path)
		}
		t.Skipf("%s is not installed (`make tools` installs it)", path)
	}
	return found
}

// runPsql runs psql with the given arguments against url.
func runPsql(t *testing.T, url string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needTool(t, "psql"), append([]string{"-X", "-v", "ON_ERROR_STOP=1", url}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("psql %v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// TestPsqlMetaCommands drives psql's describe commands, \copy and
// \conninfo and checks what it prints.
func TestPsqlMetaCommands(t *testing.T) {
	url := startServer(t)
	runPsql(t, url, "-c", `CREATE TABLE items (id bigint NOT NULL, name varchar(20) DEFAULT 'x', price numeric(8,2))`,
		"-c", "CREATE VIEW cheap AS SELECT id FROM items WHERE price < 1", "-c", "CREATE SCHEMA sales",
		"-c", "INSERT INTO items VALUES (1, 'apple', 0.5), (2, 'pear', 1.25)",
		"-c", "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')", "-c", "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
		"-c", "CREATE TABLE ppl (m mood, n posint, doc jsonb, ip inet, tags text[])",
		"-c", "CREATE TABLE keyed (id int PRIMARY KEY, code text UNIQUE CHECK (length(code) > 1))", "-c", "CREATE UNIQUE INDEX ppl_n ON ppl (n)",
		"-c", "CREATE TABLE refs (kid int REFERENCES keyed ON DELETE CASCADE)")
	csv := filepath.Join(t.TempDir(), "items.csv")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-c", `\d items`}, []string{`Table "public.items"`, "id     | bigint", "not null", "character varying(20)", "| 'x'", "numeric(8,2)"}},
		{[]string{"-c", `\d+ items`}, []string{"Storage", "plain", "extended", "Access method: heap"}},
		{[]string{"-c", `\d`}, []string{"items | table", "cheap | view"}},
		{[]string{"-c", `\dt`}, []string{"public | items | table | tester"}},
		{[]string{"-c", `\dv`}, []string{"public | cheap | view"}},
		{[]string{"-c", `\dn`}, []string{"sales"}},
		{[]string{"-c", `\l`}, []string{"weft", "UTF8"}},
		{[]string{"-c", `\du`}, []string{"weft", "Superuser"}},
		{[]string{"-c", `\di`}, []string{"keyed_pkey     | index | tester | keyed", "keyed_code_key | index | tester | keyed", "ppl_n          | index | tester | ppl"}},
		{[]string{"-c", `\d keyed`}, []string{"Indexes:", `"keyed_pkey" PRIMARY KEY, btree (id)`, `"keyed_code_key" UNIQUE CONSTRAINT, btree (code)`, "Check constraints:", `"keyed_code_check" CHECK (length(code) > 1)`,
			"Referenced by:", `TABLE "refs" CONSTRAINT "refs_kid_fkey" FOREIGN KEY (kid) REFERENCES keyed(id) ON DELETE CASCADE`}},
		{[]string{"-c", `\d refs`}, []string{"Foreign-key constraints:", `"refs_kid_fkey" FOREIGN KEY (kid) REFERENCES keyed(id) ON DELETE CASCADE`}},
		{[]string{"-c", `\conninfo`}, []string{`connected to database "weft" as user "tester"`}},
		{[]string{"-c", `\copy items to '` + csv + `' csv header`}, []string{"COPY 2"}},
		{[]string{"-c", `\copy items from '` + csv + `' csv header`, "-c", "SELECT count(*), sum(price) FROM items"}, []string{"COPY 2", "4 | 3.50"}},
		{[]string{"-c", `\x`, "-c", "SELECT id, name FROM items ORDER BY id LIMIT 1"}, []string{"Expanded display is on", "id   | 1", "name | apple"}},
		{[]string{"-c", `\d+ cheap`}, []string{`View "public.cheap"`, "View definition:", "FROM public.items"}},
		{[]string{"-c", `\db`}, []string{"pg_default"}},
		{[]string{"-c", `\d ppl`}, []string{"m      | mood", "n      | posint", "doc    | jsonb", "ip     | inet", "tags   | text[]"}},
		{[]string{"-c", `\dT+ mood`}, []string{"mood", "sad", "happy"}},
		{[]string{"-c", `\dD`}, []string{"posint | integer", "CHECK (VALUE > 0)"}},
		{[]string{"-c", `\dT`, "-c", `\dC`, "-c", `\dp`, "-c", `\dx`, "-c", `\dD`, "-c", `\do`, "-c", `\dL`}, []string{"List of data types", "List of casts", "Access privileges", "List of installed extensions", "List of domains", "List of operators", "List of languages"}},
	} {
		out := runPsql(t, url, c.args...)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("psql %v: output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

// TestPsycopg2 runs a Python script that uses psycopg2 the usual ways:
// parameters, fetchall, a named (server-side) cursor, copy_expert and a
// rolled-back transaction.
func TestPsycopg2(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = needTool(t, "python3")
	}
	if err := exec.Command(python, "-c", "import psycopg2").Run(); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatal("python3-psycopg2 is not installed; run `make tools`")
		}
		t.Skip("python3-psycopg2 is not installed (`make tools` installs it)")
	}
	url := startServer(t)
	script := `
import io, sys, psycopg2
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor()
cur.execute("CREATE TABLE t (id int, name text, price numeric(6,2))")
cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", [(i, "n%d" % i, i * 1.5) for i in range(1, 101)])
conn.commit()
cur.execute("SELECT count(*), sum(price) FROM t WHERE id > %s AND name <> %s", (50, "n60"))
print("agg", cur.fetchall())
named = conn.cursor(name="big")
named.itersize = 7
named.execute("SELECT id FROM t ORDER BY id")
print("named", sum(r[0] for r in named))
named.close()
buf = io.StringIO()
cur.copy_expert("COPY (SELECT id, name FROM t WHERE id <= 3 ORDER BY id) TO STDOUT WITH CSV", buf)
print("copyout", buf.getvalue().replace("\n", ";"))
cur.copy_expert("COPY t FROM STDIN WITH CSV", io.StringIO("500,x,1.00\n501,y,2.00\n"))
cur.execute("INSERT INTO t VALUES (999, 'gone', 0)")
conn.rollback()
cur.execute("SELECT count(*), max(id) FROM t")
print("after", cur.fetchone())
cur.execute("SELECT %s::date, %s::text IS NULL", ("2024-02-29", None))
print("types", cur.fetchone())
cur.execute("SELECT ARRAY[1, 2, NULL], %s::int[], ARRAY['a b', 'c'], count(*) FROM t WHERE id = ANY(%s)", ([4, 5], [1, 2, 3]))
print("arrays", cur.fetchone())
`
	out, err := exec.Command(python, "-c", script, url).CombinedOutput()
	if err != nil {
		t.Fatalf("psycopg2 script: %v\n%s", err, out)
	}
	for _, want := range []string{
		"agg [(49, Decimal('5572.50'))]",
		"named 5050",
		"copyout 1,n1;2,n2;3,n3;",
		"after (100, 100)",
		"types (datetime.date(2024, 2, 29), True)",
		"arrays ([1, 2, None], [4, 5], ['a b', 'c'], 3)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("psycopg2 output lacks %q:\n%s", want, out)
		}
	}
}

// TestNodePostgres runs node-postgres (npm pg, installed into
// testdata/clients/node by `make tools`) against the server.
func TestNodePostgres(t *testing.T) {
	node := needTool(t, "node")
	dir := filepath.Join("..", "testdata", "clients", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pg")); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatal("node-postgres is not installed in testdata/clients/node; run `make tools`")
		}
		t.Skip("node-postgres is not installed in testdata/clients/node (`make tools` installs it)")
	}
	url := startServer(t)
	cmd := exec.Command(node, "test.js", url)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node-postgres: %v\n%s", err, out)
	}
	// sum over k of (k%20+1)(k%20+2)/2 for k < 32
	pool := 0
	for k := 0; k < 32; k++ {
		n := k%20 + 1
		pool += n * (n + 1) / 2
	}
	for _, want := range []string{
		"agg 10 38.75",
		`array [[7,"name 7"]]`,
		"date 2024-01-03T00:00:00.000Z",
		"rollback 20",
		"error 42703 8",
		"after error 1",
		"pool " + strconv.Itoa(pool),
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("node-postgres output lacks %q:\n%s", want, out)
		}
	}
}

// TestPgJDBC runs pgjdbc (Debian's libpostgresql-jdbc-java, on
// default-jdk-headless) the way BI tools use it: DatabaseMetaData,
// prepared statements, batches and ResultSetMetaData.
func TestPgJDBC(t *testing.T) {
	java := needTool(t, "java")
	jar := "/usr/share/java/postgresql.jar"
	if _, err := os.Stat(jar); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatal("pgjdbc is not installed; run `make tools`")
		}
		t.Skip("pgjdbc is not installed (`make tools` installs libpostgresql-jdbc-java)")
	}
	url := strings.Replace(startServer(t), "postgres://tester@", "jdbc:postgresql://", 1)
	url = strings.Replace(url, "?sslmode=disable", "?user=tester&sslmode=disable", 1)
	out, err := exec.Command(java, "-cp", jar, filepath.Join("..", "testdata", "clients", "jdbc", "WeftJdbc.java"), url).CombinedOutput()
	if err != nil {
		t.Fatalf("pgjdbc: %v\n%s", err, out)
	}
	for _, want := range []string{
		"product PostgreSQL 15",
		"tables public.items:TABLE",
		"columns id:int8:0 name:varchar:1 price:numeric:1 added:date:1",
		"primary keys id/items_pkey",
		"indexes items_pkey/id/false",
		"imported keys 0",
		"foreign keys item_id->items.id/lines_item_id_fkey/true",
		"schemas information_schema pg_catalog public",
		"typeinfo true true",
		"rsmeta id:int8 name:varchar price:numeric added:date",
		"rows 1/apple/0.50/2024-01-02 2/pear/1.25/2024-02-03",
		"batch 3",
		"total 5 15.25",
		"tx inside 6 outside 5",
		"tx committed 6",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pgjdbc output lacks %q:\n%s", want, out)
		}
	}
}
