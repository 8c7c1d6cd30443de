package pgwire

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tools applications put between themselves and the database — ORMs,
// migration tools, dataframe libraries, BI metadata — driven for real
// against the server. Each script prints one line per check; the wanted
// lines are what the same script prints against PostgreSQL 15. Without
// the tool a test is skipped, unless WEFT_REQUIRE_POSTGRES is set (CI),
// when it fails.

// needPython returns Debian's python3 when it imports every module, else
// skips (or fails in CI).
func needPython(t *testing.T, pkgs string, modules ...string) string {
	t.Helper()
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = needTool(t, "python3")
	}
	if err := exec.Command(python, "-c", "import "+strings.Join(modules, ", ")).Run(); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%s not installed; run `make tools`", pkgs)
		}
		t.Skipf("%s not installed (`make tools` installs them)", pkgs)
	}
	return python
}

// wantLines checks that out has every wanted line, as a whole line.
func wantLines(t *testing.T, tool string, out []byte, want []string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		have[strings.TrimRight(l, "\r")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s output lacks the line %q", tool, w)
		}
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", tool, out)
	}
}

// TestSQLAlchemy runs SQLAlchemy's ORM and inspector, pandas and Alembic
// (Debian's python3-sqlalchemy, python3-pandas, python3-alembic) through
// testdata/clients/python/sqlalchemy_app.py: three related tables, CRUD,
// relationship loading, reflection (views with their columns), pandas
// read_sql_table/to_sql, a migration up and down, and a second start
// whose autogenerate finds the schema as the model has it.
func TestSQLAlchemy(t *testing.T) {
	python := needPython(t, "python3-sqlalchemy, python3-pandas and python3-alembic", "sqlalchemy", "pandas", "alembic", "psycopg2")
	url := startServer(t)
	out, err := exec.Command(python, filepath.Join("..", "testdata", "clients", "python", "sqlalchemy_app.py"), url).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlalchemy_app.py: %v\n%s", err, out)
	}
	identity := "identity ('id', True, [('always', True), ('increment', 5), ('start', 10)])"
	wantLines(t, "sqlalchemy_app.py", out, []string{
		identity,
		`isolation READ COMMITTED`,
		`server version 15`,
		`ids [1, 2]`,
		`selectin [('Alpha', '12.50', [5, 3]), ('Beta', '7.25', [])]`,
		`joined [('Alpha', 'Ann'), ('Beta', 'Ann'), ('Gamma', 'Bob')]`,
		`lazy ('Ann', ['a', 'b'], 120, ['great', 'ok'])`,
		`agg [('Ann', 2, '19.75'), ('Bob', 1, 'None')]`,
		`updated ('13.00', {'tags': ['c']})`,
		`bob (False, '2024-06-01T12:00:00+00:00')`,
		`after delete (1, 2, 2)`,
		`unique 23505`,
		`posted set 2`,
		`tables ['authors', 'books', 'reviews']`,
		`views ['book_prices']`,
		`columns [('id', 'INTEGER', False), ('author_id', 'INTEGER', False), ('title', 'VARCHAR(200)', False), ('price', 'NUMERIC(8, 2)', True), ('meta', 'JSON', True)]`,
		`serial default ['id']`,
		`pk {'constrained_columns': ['id'], 'name': 'reviews_pkey'}`,
		`fks [(['author_id'], 'authors', ['id'], {'ondelete': 'CASCADE'})]`,
		`indexes [('books_author_title_key', ['author_id', 'title'], True), ('ix_books_author_id', ['author_id'], False)]`,
		`uniques [{'name': 'books_author_title_key', 'column_names': ['author_id', 'title']}]`,
		`view columns [('title', 'VARCHAR(200)'), ('author', 'TEXT'), ('price', 'NUMERIC(8, 2)')]`,
		`view definition True`,
		`has_table (True, False)`,
		`reflected (['id', 'author_id', 'title', 'price', 'meta'], ['authors.id'])`,
		`pandas table (['id', 'author_id', 'title', 'price', 'meta'], 2, ['Alpha', 'Beta'])`,
		`pandas query [{'title': 'Alpha', 'price': 13.0}, {'title': 'Beta', 'price': 7.25}]`,
		`pandas roundtrip (3, 2.75, 1, 'UTC')`,
		`pandas append 6`,
		`alembic version 0001`,
		`alembic up (True, 'isbn', ['tags_book_idx', 'tags_label_key'])`,
		`isbn ['none']`,
		`isbn default ["'n/a'::character varying"]`,
		`alembic down (False, 'meta', 0)`,
		`autogenerate diffs []`,
		`second start ['Ann']`,
		`done ok`,
	})
}

// TestJDBCMetadataSync runs a BI tool's connect-and-sync pass through
// pgjdbc (testdata/clients/jdbc/WeftBI.java): catalogs, schemas, tables
// of every type, columns of tables and views, keys, indexes, a function
// with its columns, type info, the transaction isolation, Metabase's own
// table and field sync SQL, then time-bucketed queries over timestamptz
// in America/New_York.
func TestJDBCMetadataSync(t *testing.T) {
	java := needTool(t, "java")
	jar := "/usr/share/java/postgresql.jar"
	if _, err := os.Stat(jar); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatal("pgjdbc is not installed; run `make tools`")
		}
		t.Skip("pgjdbc is not installed (`make tools` installs libpostgresql-jdbc-java)")
	}
	module, err := os.ReadFile(filepath.Join("..", "testdata", "udf", "wasm", "plain.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(startServer(t), "postgres://tester@", "jdbc:postgresql://", 1)
	url = strings.Replace(url, "?sslmode=disable", "?user=tester&sslmode=disable", 1)
	out, err := exec.Command(java, "-cp", jar, filepath.Join("..", "testdata", "clients", "jdbc", "WeftBI.java"), url, hex.EncodeToString(module)).CombinedOutput()
	if err != nil {
		t.Fatalf("WeftBI.java: %v\n%s", err, out)
	}
	wantLines(t, "WeftBI.java", out, []string{
		`product PostgreSQL 15`,
		`isolation 2 default 2`,
		`isolation set 8`,
		`catalogs 1`,
		`schemas pg_catalog public`,
		`table types has TABLE VIEW true`,
		`tables bi_regions_name_key/INDEX bi_regions_pkey/INDEX bi_sales_pkey/INDEX bi_sales_sold_at/INDEX bi_stores_pkey/INDEX bi_regions_id_seq/SEQUENCE bi_sales_id_seq/SEQUENCE bi_stores_id_seq/SEQUENCE bi_regions/TABLE bi_sales/TABLE bi_stores/TABLE bi_store_sales/VIEW`,
		`views bi_store_sales`,
		`columns id/int4/10/0/YES region_id/int4/10/0/NO name/varchar/40/0/NO opened/timestamptz/35/1/NO active/bool/1/1/NO meta/json/2147483647/1/NO`,
		`sales columns id/-5/0/1 store_id/4/0/2 amount/2/2/3 sold_at/93/6/4`,
		`view columns store/varchar/40/1 region/text/2147483647/2 amount/numeric/10/3 sold_at/timestamptz/35/4`,
		`primary keys id/1/bi_sales_pkey`,
		`imported keys bi_stores/id/store_id/0/bi_sales_store_id_fkey/bi_stores_pkey`,
		`exported keys bi_stores/region_id/3`,
		`indexes bi_sales_pkey/id/f/1 bi_sales_sold_at/sold_at/t/1`,
		`unique indexes bi_regions_name_key/name bi_regions_pkey/id`,
		`functions add/1`,
		`function columns returnValue/4/int8/0 $1/1/int8/1 $2/1/int8/2`,
		`procedures `,
		`procedure columns returnValue/5/int8 $1/1/int8 $2/1/int8`,
		`typeinfo int4 4:false numeric 2:false timestamptz 93:false json 1111:false bool -7:false`,
		`column privileges ok`,
		`max identifier 63 quote "`,
		`metabase tables public/bi_regions/TABLE/null/t public/bi_sales/TABLE/null/t public/bi_store_sales/VIEW/null/f public/bi_stores/TABLE/null/t`,
		`metabase fields bi_regions/id/int4/0/t/t/t/t bi_regions/name/text/1/f/f/t/null bi_sales/id/int8/0/t/t/t/t bi_sales/store_id/int4/1/f/f/t/null bi_sales/amount/numeric/2/f/f/t/null bi_sales/sold_at/timestamptz/3/f/f/t/null bi_store_sales/store/varchar/0/f/f/f/null bi_store_sales/region/text/1/f/f/f/null bi_store_sales/amount/numeric/2/f/f/f/null bi_store_sales/sold_at/timestamptz/3/f/f/f/null bi_stores/id/int4/0/t/f/t/t bi_stores/region_id/int4/1/f/f/t/null bi_stores/name/varchar/2/f/f/t/null bi_stores/opened/timestamptz/3/f/f/f/null bi_stores/active/bool/4/f/t/f/f bi_stores/meta/json/5/f/f/f/null`,
		`zone America/New_York`,
		`by day 2024-01-14 00:00:00-05=1/10.00 2024-01-15 00:00:00-05=2/12.75 2024-01-16 00:00:00-05=1/1.00 2024-01-31 00:00:00-05=1/2.00`,
		`by month north:2024-01-01=17.50 south:2024-01-01=8.25`,
		`by hour 0=1 18=1 23=1`,
		`at time zone 2024-01-15 04:00:00 2024-01-15 05:00:00`,
	})
}

// TestDjango runs Django's ORM, migrations and inspectdb (Debian's
// python3-django) through testdata/clients/python/django_app.py:
// makemigrations and migrate of three related models, CRUD, JSON lookups,
// prefetch_related and select_related, aggregates, introspection
// (inspectdb, constraints, sequences, relations), a second migration up
// and back down, and a second start that finds nothing to migrate.
func TestDjango(t *testing.T) {
	python := needPython(t, "python3-django", "django", "psycopg2")
	url := startServer(t)
	out, err := exec.Command(python, filepath.Join("..", "testdata", "clients", "python", "django_app.py"), url).CombinedOutput()
	if err != nil {
		t.Fatalf("django_app.py: %v\n%s", err, out)
	}
	wantLines(t, "django_app.py", out, []string{
		`vendor ('postgresql', 15)`,
		`migrations ['0001_initial.py', '__init__.py']`,
		`migrate True`,
		`tables ['dj_author', 'dj_book', 'dj_review', 'django_migrations']`,
		`counts (2, 3, 3)`,
		`filter ['Alpha', 'Beta']`,
		`json lookup (['Alpha'], ['Beta'], ['Alpha'], ['Beta', 'Alpha', 'Gamma'])`,
		`prefetch [('Alpha', '12.50', [3, 5]), ('Beta', '7.25', [])]`,
		`select_related [('Alpha', 'Ann'), ('Beta', 'Ann'), ('Gamma', 'Bob')]`,
		`aggregate {'n': 3, 'total': Decimal('19.75')}`,
		`values annotate [{'author__name': 'Ann', 'n': 2}, {'author__name': 'Bob', 'n': 1}]`,
		`model annotate [('Ann', True, 2), ('Bob', False, 1)]`,
		`updated ('13.00', {'tags': ['c']})`,
		`after delete (1, 2, 2)`,
		`unique 23505`,
		`posted set 2`,
		`inspectdb class DjAuthor(models.Model): True`,
		`inspectdb name = models.TextField(unique=True) True`,
		`inspectdb joined = models.DateTimeField() True`,
		`inspectdb active = models.BooleanField() True`,
		`inspectdb class DjBook(models.Model): True`,
		`inspectdb id = models.BigAutoField(primary_key=True) True`,
		`inspectdb author = models.ForeignKey(DjAuthor, models.DO_NOTHING) True`,
		`inspectdb title = models.CharField(max_length=200) True`,
		`inspectdb price = models.DecimalField(max_digits=8, decimal_places=2, blank=True, null=True) True`,
		`inspectdb meta = models.JSONField(blank=True, null=True) True`,
		`inspectdb unique_together = (('author', 'title'),) True`,
		`inspectdb book = models.ForeignKey(DjBook, models.DO_NOTHING) True`,
		`inspectdb stars = models.SmallIntegerField() True`,
		`constraints [('dj_book_author_title', ['author_id', 'title'], False, True, None, False), ('dj_book_pkey', ['id'], True, True, None, False), ('id', ['author_id'], False, False, ('dj_author', 'id'), False)]`,
		`indexed columns ['author_id', 'title', 'title']`,
		`description [('id', False), ('title', False), ('price', True), ('meta', True), ('author_id', False)]`,
		`sequences [{'name': 'dj_book_id_seq', 'table': 'dj_book', 'column': 'id'}]`,
		`relations {'book_id': ('id', 'dj_book')}`,
		`up ('helpful', (2, 0))`,
		`down (['id', 'stars', 'body', 'posted', 'book_id'], ['0001_initial'])`,
		`second migrate True`,
		`model changes none`,
		`second start ['Ann']`,
		`done ok`,
	})
}

// TestPgcli runs pgcli's executor (Debian's pgcli, over psycopg 3)
// through testdata/clients/python/pgcli_app.py: the queries its completion
// refresh runs on connect (schemata, tables, views, their columns,
// foreign keys, types, functions), completions offered from them, and
// pgspecial's \dt, \d, \dv and \di.
func TestPgcli(t *testing.T) {
	python := needPython(t, "pgcli", "pgcli.pgexecute", "pgspecial")
	module, err := os.ReadFile(filepath.Join("..", "testdata", "udf", "wasm", "plain.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	url := startServer(t)
	out, err := exec.Command(python, filepath.Join("..", "testdata", "clients", "python", "pgcli_app.py"), url, hex.EncodeToString(module)).CombinedOutput()
	if err != nil {
		t.Fatalf("pgcli_app.py: %v\n%s", err, out)
	}
	wantLines(t, "pgcli_app.py", out, []string{
		`server 15`,
		`search_path ['pg_catalog', 'public']`,
		`schemata ['information_schema', 'pg_catalog', 'public']`,
		`tables [('public', 'pc_customer'), ('public', 'pc_line'), ('public', 'pc_order')]`,
		`views [('public', 'pc_cheap')]`,
		`table columns [('pc_customer', 'id', 'integer'), ('pc_customer', 'name', 'text'), ('pc_customer', 'since', 'timestamp with time zone'), ('pc_line', 'item', 'text'), ('pc_line', 'n', 'integer'), ('pc_line', 'order_id', 'bigint'), ('pc_order', 'customer_id', 'integer'), ('pc_order', 'doc', 'json'), ('pc_order', 'id', 'bigint'), ('pc_order', 'paid', 'boolean'), ('pc_order', 'state', 'pc_state'), ('pc_order', 'total', 'numeric')]`,
		`view columns [('pc_cheap', 'id', 'bigint'), ('pc_cheap', 'total', 'numeric')]`,
		`foreign keys [('public', 'pc_customer', 'id', 'public', 'pc_order', 'customer_id'), ('public', 'pc_order', 'id', 'public', 'pc_line', 'order_id')]`,
		`databases has current True`,
		`datatypes [('public', 'pc_state')]`,
		`functions [('add', ('bigint', 'bigint'), 'bigint', False, False)]`,
		`complete tables ['pc_cheap', 'pc_customer', 'pc_line', 'pc_order']`,
		`complete columns ['customer_id', 'doc', 'id', 'paid', 'total']`,
		`complete join ['pc_customer ON pc_customer.id = o.customer_id', 'pc_line ON pc_line.order_id = o.id']`,
		`\dt pc_* [('public', 'pc_customer', 'table', '<user>'), ('public', 'pc_line', 'table', '<user>'), ('public', 'pc_order', 'table', '<user>')]`,
		`\d pc_order [('customer_id', 'integer', ' not null'), ('doc', 'json', ''), ('id', 'bigint', ' not null generated by default as identity'), ('paid', 'boolean', ''), ('state', 'pc_state', ''), ('total', 'numeric(10,2)', '')]`,
		`\dv [('public', 'pc_cheap', 'view', '<user>')]`,
		`\di pc_* [('public', 'pc_customer_name_key', 'index', '<user>'), ('public', 'pc_customer_pkey', 'index', '<user>'), ('public', 'pc_line_order_id_n_key', 'index', '<user>'), ('public', 'pc_order_customer', 'index', '<user>'), ('public', 'pc_order_pkey', 'index', '<user>')]`,
		`done ok`,
	})
}

// runNodeORM runs a script of testdata/clients/node-orm (knex, Sequelize
// and TypeORM, installed there from its package-lock.json by `make
// tools`) against a fresh server and returns what it printed.
func runNodeORM(t *testing.T, script, module string) []byte {
	t.Helper()
	node := needTool(t, "node")
	dir := filepath.Join("..", "testdata", "clients", "node-orm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", module, "package.json")); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%s is not installed in testdata/clients/node-orm; run `make tools`", module)
		}
		t.Skipf("%s is not installed in testdata/clients/node-orm (`make tools` installs it)", module)
	}
	url := startServer(t)
	cmd := exec.Command(node, script, url)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return out
}

// TestKnex runs knex (testdata/clients/node-orm/knex_app.js): the schema
// builder, the query builder (joins, bound LIMIT/OFFSET, aggregates,
// RETURNING, transactions), columnInfo/hasTable/hasColumn, a migration
// up and rolled back, and a second start with nothing to migrate.
func TestKnex(t *testing.T) {
	out := runNodeORM(t, "knex_app.js", "knex")
	wantLines(t, "knex_app.js", out, []string{
		`has tables [true,true,true,false]`,
		`inserted [1,"Ann",true,"2024-01-02T03:04:05.000Z",{"id":2,"active":false}]`,
		`book ids [1,2,3]`,
		`joined [{"title":"Alpha","name":"Ann"},{"title":"Beta","name":"Ann"},{"title":"Gamma","name":"Bob"}]`,
		`reviews [[1,5],[1,3],[3,1]]`,
		`page ["Beta"]`,
		`agg [{"name":"Ann","n":"2","total":"19.75"},{"name":"Bob","n":"1","total":null}]`,
		`json {"tags":["a","b"],"pages":120}`,
		`updated 1`,
		`price "13.00"`,
		`deleted 1`,
		`after delete [1,2,2]`,
		`unique "23505"`,
		`posted set 2`,
		`column info [["id","bigint",null,false,true],["author_id","integer",null,false,false],["title","character varying",200,false,false],["price","numeric",null,true,false],["meta","json",null,true,false]]`,
		`has column [true,false]`,
		`migrate latest [1,["20240101000000_tags.js"]]`,
		`up [true,true,["none"]]`,
		`version "20240101000000"`,
		`rollback [1,["20240101000000_tags.js"]]`,
		`down [false,false]`,
		`second migrate [1,0]`,
		`second list ["20240101000000_tags.js"]`,
		`second start ["Ann"]`,
		`done "ok"`,
	})
}

// TestSequelize runs Sequelize (testdata/clients/node-orm/sequelize_app.js):
// models with associations created by sync, nested eager and lazy
// loading, aggregates, JSON, QueryInterface introspection (tables,
// describeTable, indexes, foreign keys), a migration up and down through
// the QueryInterface, and a second start with sync and sync({alter}).
func TestSequelize(t *testing.T) {
	out := runNodeORM(t, "sequelize_app.js", "sequelize")
	wantLines(t, "sequelize_app.js", out, []string{
		`ids [1,2,[1,2],3]`,
		`eager [["Alpha","12.50",[5,3]],["Beta","7.25",[]]]`,
		`belongsTo [["Alpha","Ann"],["Beta","Ann"],["Gamma","Bob"]]`,
		`lazy "Ann"`,
		`where ["Alpha","Beta"]`,
		`count 2`,
		`agg [{"authorId":1,"n":"2","total":"19.75"},{"authorId":2,"n":"1","total":null}]`,
		`json {"tags":["a","b"],"pages":120}`,
		`updated [1]`,
		`saved ["13.00",{"tags":["c"]}]`,
		`after delete [1,2,2]`,
		`unique "23505"`,
		`tables ["sq_authors","sq_books","sq_reviews"]`,
		`describe [["id","BIGINT",false,true,false],["title","CHARACTER VARYING(200)",false,false,false],["price","NUMERIC",true,false,false],["meta","JSON",true,false,false],["created_at","TIMESTAMP WITH TIME ZONE",false,false,false],["updated_at","TIMESTAMP WITH TIME ZONE",false,false,false],["author_id","INTEGER",false,false,false]]`,
		`indexes [["sq_books_author_id_title",true,false,["author_id","title"]],["sq_books_pkey",true,true,["id"]],["sq_books_title",false,false,["title"]]]`,
		`foreign keys [["sq_books_author_id_fkey","author_id","sq_authors","id"]]`,
		`up [true,true,["none"]]`,
		`down [false,false]`,
		`second start ["Ann"]`,
		`after alter [2,3]`,
		`done "ok"`,
	})
}

// TestTypeORM runs TypeORM (testdata/clients/node-orm/typeorm_app.js):
// entities with relations created by synchronize, find with nested
// relations, the query builder, paging, JSON, a transaction, getTable's
// introspection, a generated-style migration run and undone, and a second
// start whose schema diff is empty.
func TestTypeORM(t *testing.T) {
	out := runNodeORM(t, "typeorm_app.js", "typeorm")
	want := []string{
		`ids [1,2,true,"1","3"]`,
		`relations [["Alpha","12.50",[5,3]],["Beta","7.25",[]]]`,
		`join [["Alpha","Ann"],["Beta","Ann"],["Gamma","Bob"]]`,
		`paged ["Beta"]`,
		`count 2`,
		`agg [{"author":1,"n":"2","total":"19.75"},{"author":2,"n":"1","total":null}]`,
		`json {"tags":["a","b"],"pages":120}`,
		`saved ["13.00",{"tags":["c"]}]`,
		`after delete [1,2,2]`,
		`unique "23505"`,
		`posted set 2`,
		`migrate ["AddTags1700000000000"]`,
		`up [true,true,["none"]]`,
		`down [false,false,0]`,
		`second start ["Ann"]`,
		`done "ok"`,
	}
	want = append(want,
		`columns [["id","bigint","",null,null,false,true,true],["title","character varying","200",null,null,false,false,false],["price","numeric","",8,2,true,false,false],["meta","json","",null,null,true,false,false],["author_id","integer","",null,null,false,false,false]]`,
		`indices [["to_books_title",["title"],false]]`,
		`uniques [["to_books_author_title",["title","author_id"]]]`,
		`foreign keys [[["author_id"],"to_authors",["id"],"CASCADE","NO ACTION"]]`,
		`has [true,false,true]`,
		"second start changes []")
	wantLines(t, "typeorm_app.js", out, want)
}

// TestGORM runs GORM (gorm.io/gorm with gorm.io/driver/postgres) and
// golang-migrate (its postgres driver) through testdata/clients/gotools, a
// module of its own whose dependencies `make tools` downloads: AutoMigrate
// of three related models, CRUD, Preload and Joins, paging, aggregates,
// the Migrator's introspection (HasTable, HasConstraint, ColumnTypes,
// GetIndexes), a migration up and down under golang-migrate's advisory
// lock, and a second start (migrate and AutoMigrate) that changes nothing.
func TestGORM(t *testing.T) {
	goTool := needTool(t, "go")
	dir := filepath.Join("..", "testdata", "clients", "gotools")
	bin := filepath.Join(t.TempDir(), "gotools")
	build := exec.Command(goTool, "build", "-mod=readonly", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	if msg, err := build.CombinedOutput(); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatalf("building testdata/clients/gotools (run `make tools` to download its modules): %v\n%s", err, msg)
		}
		t.Skipf("testdata/clients/gotools does not build offline (`make tools` downloads its modules): %v\n%s", err, msg)
	}
	url := startServer(t)
	out, err := exec.Command(bin, url).CombinedOutput()
	if err != nil {
		t.Fatalf("gotools: %v\n%s", err, out)
	}
	wantLines(t, "gotools", out, []string{
		`ids 1 2 1 2 3`,
		`preload Alpha:12.50:[5,3] Beta:7.25:[]`,
		`joins Alpha/Ann Beta/Ann Gamma/Bob`,
		`page Beta`,
		`first Gamma`,
		`agg Ann 2 19.75`,
		`agg Bob 1 NULL`,
		`updated 13.00 {"tags": ["c"]}`,
		`after delete 1 2 2`,
		`unique 23505`,
		`posted set 2`,
		`has true false true false`,
		`constraints true true true true`,
		`column types author_id:int8:false:false:64:64,0:false id:int8:false:true:64:64,0:false meta:json:true:false:0:0,0:false price:numeric:true:false:0:8,2:false title:varchar:false:false:200:0,0:false`,
		`indexes go_books_author_title:[author_id title]:true:false go_books_title:[title]:false:false`,
		`tables [go_authors go_books go_reviews]`,
		`migrate up 1 false true [none]`,
		`up again no change`,
		`migrate down false false no migration`,
		`second migrate no change`,
		`second version 1`,
		`second start changes []`,
		`second start [Ann]`,
		`done ok`,
	})
}
