package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// writeSample writes the same three rows as Arrow IPC and Parquet, with
// int32 and nanosecond timestamps to exercise the conversions.
func writeSample(t *testing.T, dir string) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"ä", "b", ""}, []bool{true, true, false})
	b.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1_700_000_000_000_000_000, 0, 1}, []bool{true, false, true})
	rec := b.NewRecord()
	defer rec.Release()
	f, _ := os.Create(filepath.Join(dir, "s.arrow"))
	w, _ := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	w.Write(rec)
	w.Close()
	f.Close()
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	pf, _ := os.Create(filepath.Join(dir, "s.parquet"))
	if err := pqarrow.WriteTable(tbl, pf, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	pf.Close()
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,price,ok,day,note\n1,1.5,true,2024-01-02,x\n2,,false,2024-01-03,\n3,2,true,,\"y, z\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.csv"), []byte("id,price,ok,day,note\n4,4.25,false,2024-02-01,w\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "e.jsonl"), []byte("{\"id\": 1, \"v\": 2.5, \"tag\": \"x\"}\n{\"id\": 2, \"v\": null, \"tag\": \"y\"}\n"), 0o644)
	// a value that does not parse, after the rows used to infer the types
	bad := "id,n\n"
	for i := 0; i < 1100; i++ {
		bad += "1,2\n"
	}
	os.WriteFile(filepath.Join(dir, "bad.csv"), []byte(bad+"2,notanumber\n"), 0o644)
}

func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	writeSample(t, dir)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{FilesDir: dir, Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	checks := []struct{ sql, want string }{
		{"SELECT count(*), sum(id), max(name), min(at) FROM read_parquet('s.parquet')", "3|6|ä|1970-01-01 00:00:00"},
		{"SELECT pg_typeof(id), pg_typeof(at) FROM read_parquet('s.parquet') LIMIT 1", "integer|timestamp without time zone"},
		{"SELECT count(*), count(name), max(at) FROM read_arrow('s.arrow')", "3|2|2023-11-14 22:13:20"},
		{"SELECT sum(price), max(day), bool_or(ok), count(*) FROM read_csv('?.csv')", "7.75|2024-02-01|t|4"},
		{"SELECT pg_typeof(price), pg_typeof(ok), pg_typeof(day) FROM read_csv('a.csv') LIMIT 1", "double precision|boolean|date"},
		{"SELECT note FROM read_csv('a.csv') WHERE id = 3", "y, z"},
		{"SELECT sum(id), sum(v), max(tag) FROM read_json('e.jsonl')", "3|2.5|y"},
	}
	for _, c := range checks {
		got := rows(t, s, c.sql)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s = %v, want %s", c.sql, got, c.want)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "semi.txt"), []byte("1;NA;2024-01-01\n2;x y;NA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{
		"SELECT count(*), count(column1), max(column1), max(column2), sum(column0) FROM read_csv('semi.txt', header => false, delimiter => ';', nullstr => 'NA')": "2|1|x y|2024-01-01|3",
		"SELECT pg_typeof(column0), pg_typeof(column2) FROM read_csv('semi.txt', header => false, sep => ';', nullstr => 'NA') LIMIT 1":                           "bigint|date",
	} {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	for _, q := range []string{
		"SELECT * FROM read_csv('semi.txt', colour => 'red')",
		"SELECT * FROM read_csv('semi.txt', delimiter => ';;')",
		"SELECT * FROM read_parquet('s.parquet', header => false)",
	} {
		if _, err := s.Exec(context.Background(), q); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
	mustExec(t, s, "CREATE TABLE loaded AS SELECT * FROM read_csv('?.csv')")
	if got := rows(t, s, "SELECT count(*) FROM loaded"); got[0] != "4" {
		t.Errorf("CREATE TABLE AS read_csv: %v", got)
	}
	for sql, code := range map[string]string{
		"SELECT * FROM read_csv('missing.csv')":   sqlerr.UndefinedFile,
		"SELECT * FROM read_csv('../etc/passwd')": sqlerr.InsufficientPrivilege,
		"SELECT * FROM read_csv('bad.csv')":       sqlerr.InvalidText,
		"SELECT * FROM read_parquet('a.csv')":     sqlerr.BadCopyFileFormat,
	} {
		_, err := s.Exec(context.Background(), sql)
		if sqlerr.Code(err) != code {
			t.Errorf("%s: want %s, got %v", sql, code, err)
		}
	}
}

// TestCopyFilesRoundTrip writes a table with every type to each file
// format with COPY TO, loads it back with COPY FROM and compares.
func TestCopyFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{FilesDir: dir, Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	mustExec(t, s, `CREATE TABLE src (i2 smallint, i4 int, i8 bigint, f4 real, f8 float8, n numeric(12,3), b boolean, t text, v varchar(5), d date, ts timestamp, tz timestamptz, by bytea, tm time, iv interval, u uuid, ai int[], at text[]);
		INSERT INTO src VALUES (1, -2, 9000000000, 1.5, -2.25, 12345.678, true, 'héllo, "w"', 'abc', '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15+00', '\x00ff10', '13:14:15.5', '1 mon 2 days 03:04:05', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"a b","",NULL,"x,y"}'),
		(-32768, 2147483647, -9223372036854775808, -0.5, 1e300, -0.001, false, E'tab\there\nnew line \\N', '', '1999-12-31', '1970-01-01 00:00:00', '2000-01-01 00:00:00+00', '\x', '00:00:00', '-1 days', '00000000-0000-0000-0000-000000000000', '{}', '{plain}'),
		(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	for _, format := range []string{"parquet", "arrow", "csv", "text", "json"} {
		file := "out." + format
		if format == "csv" {
			mustExec(t, s, "COPY src TO '"+file+"' (FORMAT csv, HEADER true)")
		} else {
			// (json is a keyword in PostgreSQL's grammar: quoted)
			mustExec(t, s, "COPY src TO '"+file+"' (FORMAT '"+format+"')")
		}
		mustExec(t, s, `CREATE TABLE dst_`+format+` (i2 smallint, i4 int, i8 bigint, f4 real, f8 float8, n numeric(12,3), b boolean, t text, v varchar(5), d date, ts timestamp, tz timestamptz, by bytea, tm time, iv interval, u uuid, ai int[], at text[])`)
		opts := "(FORMAT '" + format + "')"
		if format == "csv" {
			opts = "(FORMAT csv, HEADER true)"
		}
		mustExec(t, s, "COPY dst_"+format+" FROM '"+file+"' "+opts)
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM src EXCEPT SELECT * FROM dst_" + format + ") x",
			"SELECT count(*) FROM (SELECT * FROM dst_" + format + " EXCEPT SELECT * FROM src) x",
		} {
			if got := rows(t, s, q); got[0] != "0" {
				t.Errorf("%s round trip differs: %s = %v", format, q, got)
			}
		}
		if got := rows(t, s, "SELECT count(*) FROM dst_"+format); got[0] != "3" {
			t.Errorf("%s: %v rows", format, got)
		}
	}
	// the typed formats also read back as relations with the same types
	for _, fn := range []string{"read_parquet('out.parquet')", "read_arrow('out.arrow')"} {
		mustExec(t, s, "CREATE TABLE again AS SELECT * FROM "+fn)
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM src EXCEPT SELECT * FROM again) x",
			"SELECT count(*) FROM (SELECT * FROM again EXCEPT SELECT * FROM src) x",
			"SELECT count(*) FROM again",
		} {
			want := "0"
			if strings.HasSuffix(q, "again") {
				want = "3"
			}
			if got := rows(t, s, q); got[0] != want {
				t.Errorf("CREATE TABLE AS SELECT * FROM %s: %s = %v", fn, q, got)
			}
		}
		mustExec(t, s, "DROP TABLE again")
	}
	if _, err := s.Exec(context.Background(), "COPY src TO '../x.csv' (FORMAT csv)"); sqlerr.Code(err) != sqlerr.InsufficientPrivilege {
		t.Errorf("writing outside the files directory: %v", err)
	}
}

// TestParquetPushdown reads only the columns a query uses and skips the
// row groups whose statistics rule its conditions out, with the same
// answers as the table the file was written from.
func TestParquetPushdown(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{FilesDir: dir, Mem: mem, Partitions: 2, BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	mustExec(t, s, `CREATE TABLE src AS SELECT g AS id, 'n' || lpad(g::text, 5, '0') AS name, g * 0.5 AS v,
		timestamp '2024-01-01' + g * interval '1 minute' AS at, date '2024-01-01' + g / 1000 AS day
		FROM generate_series(1, 20000) g`)
	// sorted, so each 1000-row batch (and row group) holds one id range
	mustExec(t, s, "COPY (SELECT * FROM src ORDER BY id) TO 'big.parquet' (FORMAT parquet)")
	for _, c := range []struct {
		where      string
		minSkipped int
	}{
		{"id BETWEEN 5000 AND 5999", 18},
		{"id = 12345", 19},
		{"17000 < id", 16},
		{"name = 'n00042'", 19},
		{"name >= 'n19500'", 19},
		{"at < timestamp '2024-01-01 00:30:00'", 19},
		{"day = date '2024-01-05'", 18},
		{"v > 9999.0", 0}, // floats: no skipping on > (NaN sorts above all)
		{"id < 0", 20},
		{"mod(id, 2) = 0", 0},
	} {
		q := "SELECT count(*), sum(id), max(name), min(at) FROM %s WHERE " + c.where
		got := rows(t, s, fmt.Sprintf(q, "read_parquet('big.parquet')"))
		want := rows(t, s, fmt.Sprintf(q, "src"))
		if got[0] != want[0] {
			t.Errorf("%s: got %s, want %s", c.where, got[0], want[0])
		}
		plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+fmt.Sprintf(q, "read_parquet('big.parquet')")), "\n")
		m := regexp.MustCompile(`row groups skipped: (\d+)`).FindStringSubmatch(plan)
		skipped := 0
		if m != nil {
			skipped, _ = strconv.Atoi(m[1])
		}
		if skipped < c.minSkipped {
			t.Errorf("%s: skipped %d row groups, want at least %d:\n%s", c.where, skipped, c.minSkipped, plan)
		}
	}
	// projections in any order, and none at all
	for _, q := range []string{
		"SELECT name, id FROM %s WHERE id IN (3, 19999) ORDER BY id",
		"SELECT day, v, id FROM %s WHERE id > 19997 ORDER BY id",
		"SELECT count(*) FROM %s",
	} {
		got := strings.Join(rows(t, s, fmt.Sprintf(q, "read_parquet('big.parquet')")), ",")
		want := strings.Join(rows(t, s, fmt.Sprintf(q, "src")), ",")
		if got != want {
			t.Errorf("%s: got %s, want %s", q, got, want)
		}
	}
}

// TestBadFiles: files that are broken, malformed or out of bounds give a
// clear error with its SQLSTATE (and the file, line and column where
// there is one) and leave the target table as it was.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("value.csv", "id,amount,day\n1,2.5,2024-01-01\n2,x,2024-01-02\n")
	write("fields.csv", "id,amount,day\n1,2.5,2024-01-01\n2,3.5\n")
	write("quote.csv", "id,amount,day\n1,2.5,\"2024-01-01\n")
	write("bad.jsonl", "{\"id\": 1}\n{\"id\": 2,\n")
	write("value.jsonl", "{\"id\": 1, \"day\": \"2024-13-45\"}\n")
	write("text.txt", "1\t2.5\t2024-01-01\n2\t3.5\tnot a date\n")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{FilesDir: dir, Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	mustExec(t, s, "CREATE TABLE t (id int, amount float8, day date)")
	mustExec(t, s, "INSERT INTO t VALUES (0, 0, '2000-01-01')")
	mustExec(t, s, "COPY t TO 'good.parquet' (FORMAT parquet)")
	good, err := os.ReadFile(filepath.Join(dir, "good.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	write("truncated.parquet", string(good[:len(good)/2]))
	for _, c := range []struct{ sql, code, detail string }{
		{"COPY t FROM 'value.csv' (FORMAT csv, HEADER true)", sqlerr.InvalidText, "COPY t, file value.csv, line 3, column amount: \"x\""},
		{"COPY t FROM 'fields.csv' (FORMAT csv, HEADER true)", sqlerr.BadCopyFileFormat, ""},
		{"COPY t FROM 'quote.csv' (FORMAT csv, HEADER true)", sqlerr.BadCopyFileFormat, "file quote.csv"},
		{"COPY t FROM 'text.txt'", "22007", "COPY t, file text.txt, line 2, column day: \"not a date\""},
		{"COPY t FROM 'bad.jsonl' (FORMAT 'json')", sqlerr.BadCopyFileFormat, ""},
		{"COPY t FROM 'value.jsonl' (FORMAT 'json')", "22008", "line 1, column day"},
		{"COPY t FROM 'truncated.parquet' (FORMAT parquet)", sqlerr.BadCopyFileFormat, ""},
		{"COPY t FROM 'missing.csv' (FORMAT csv)", sqlerr.UndefinedFile, ""},
		{"COPY t FROM '../outside.csv' (FORMAT csv)", sqlerr.InsufficientPrivilege, ""},
		{"COPY t FROM '/etc/passwd' (FORMAT csv)", sqlerr.InsufficientPrivilege, ""},
		{"COPY t FROM 'value.csv' (FORMAT xml)", sqlerr.InvalidParameter, ""},
		{"SELECT * FROM read_json('bad.jsonl')", sqlerr.BadCopyFileFormat, ""},
		{"SELECT * FROM read_parquet('truncated.parquet')", sqlerr.BadCopyFileFormat, ""},
		{"SELECT * FROM read_csv('missing.csv')", sqlerr.UndefinedFile, ""},
	} {
		_, err := s.Exec(context.Background(), c.sql)
		var e *sqlerr.Error
		if !errors.As(err, &e) || e.Code != c.code {
			t.Errorf("%s: got %v, want SQLSTATE %s", c.sql, err, c.code)
			continue
		}
		if !strings.Contains(e.Message+" "+e.Detail, c.detail) {
			t.Errorf("%s: error %q (detail %q) does not say %q", c.sql, e.Message, e.Detail, c.detail)
		}
		if got := rows(t, s, "SELECT count(*), sum(id) FROM t"); got[0] != "1|0" {
			t.Errorf("%s: the table changed: %v", c.sql, got)
		}
	}
	// the fields.csv error names its line
	_, err = s.Exec(context.Background(), "COPY t FROM 'fields.csv' (FORMAT csv, HEADER true)")
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("wrong field count: %v", err)
	}
}

// TestLoadProgress: a load counts the rows and bytes it has read, which
// the shell shows for long loads.
func TestLoadProgress(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString("a,b\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&sb, "%d,row %d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.csv"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(engine.Options{FilesDir: dir, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	mustExec(t, s, "CREATE TABLE t (a int, b text)")
	for _, q := range []string{
		"COPY t FROM 'p.csv' (FORMAT csv, HEADER true)",
		"CREATE TABLE u AS SELECT * FROM read_csv('p.csv')",
	} {
		mustExec(t, s, q)
		if rows, bytes := s.Progress(); rows != 5000 || bytes != int64(sb.Len()) {
			t.Errorf("%s: progress %d rows, %d bytes; want 5000 and %d", q, rows, bytes, sb.Len())
		}
	}
	mustExec(t, s, "SELECT 1")
	if rows, bytes := s.Progress(); rows != 0 || bytes != 0 {
		t.Errorf("a new statement starts from zero: %d, %d", rows, bytes)
	}
}

// TestCopyTypedFields loads fields in plain spellings (parsed straight
// into the column builders) and in others (blanks, exponents, rounding,
// quotes, multi-byte text: the general conversion) and checks both give
// what casting the same text gives; bad values still name their line and
// column.
func TestCopyTypedFields(t *testing.T) {
	dir := t.TempDir()
	data := "1|12.34|1996-03-13|N|TRUCK|plain comment|9000000000|1.5\n" +
		"-2| 7 |2000-02-29| |é日|\"quoted|with bar\"|-1|-0.25e1\n" +
		"+3|1e2|1970-01-01|R|ab  |\"\"||\n" +
		"0004|-0.005|0001-01-01|A|日本語|ünïcode ok|0|3\n" +
		"5|99999999999.995|9999-12-31|FF|x|t|12|nan\n" +
		"6|.5|1899-12-31|o|MAIL |tail  |7|1e3\n" +
		"|||||||\n"
	if err := os.WriteFile(filepath.Join(dir, "typed.tbl"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{FilesDir: dir, Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	const cols = "(a int, n numeric(15,2), d date, c char(2), v varchar(6), x text, b bigint, f float8)"
	mustExec(t, s, "CREATE TABLE fast "+cols)
	mustExec(t, s, "COPY fast FROM 'typed.tbl' (FORMAT csv, DELIMITER '|')")
	mustExec(t, s, "CREATE TABLE raw (a text, n text, d text, c text, v text, x text, b text, f text)")
	mustExec(t, s, "COPY raw FROM 'typed.tbl' (FORMAT csv, DELIMITER '|')")
	mustExec(t, s, "CREATE TABLE ref "+cols)
	mustExec(t, s, "INSERT INTO ref SELECT a::int, n::numeric(15,2), d::date, c::char(2), v::varchar(6), x, b::bigint, f::float8 FROM raw")
	const q = "SELECT a, n, d, c, octet_length(c), v, x, b, f FROM %s ORDER BY a NULLS LAST"
	got, want := rows(t, s, fmt.Sprintf(q, "fast")), rows(t, s, fmt.Sprintf(q, "ref"))
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != 7 {
		t.Errorf("COPY gave\n%s\ncasts give\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct{ line, code, detail string }{
		{"7|100000000000000|2000-01-01|a|b|c|1|1\n", sqlerr.NumericOutOfRange, "line 1, column n"},
		{"7|1|2000-01-01|abc|b|c|1|1\n", sqlerr.StringTooLong, "line 1, column c"},
		{"7|1|2000-01-01|a|abcdefg|c|1|1\n", sqlerr.StringTooLong, "line 1, column v"},
		{"1|1|2000-01-01|a|b|c|1|1\n2147483648|1|2000-01-01|a|b|c|1|1\n", sqlerr.NumericOutOfRange, "line 2, column a"},
		{"7|1|2000-02-30|a|b|c|1|1\n", "22008", "line 1, column d"},
		{"7|1|2000-01-01|a|b|c|1|one\n", sqlerr.InvalidText, "line 1, column f"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "bad.tbl"), []byte(c.line), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := s.Exec(context.Background(), "COPY fast FROM 'bad.tbl' (FORMAT csv, DELIMITER '|')")
		var e *sqlerr.Error
		if !errors.As(err, &e) {
			t.Errorf("%q: got %v, want SQLSTATE %s", c.line, err, c.code)
		} else if e.Code != c.code || !strings.Contains(e.Detail, c.detail) {
			t.Errorf("%q: got %v (detail %q), want SQLSTATE %s naming %q", c.line, err, e.Detail, c.code, c.detail)
		}
	}
	if got := rows(t, s, "SELECT count(*) FROM fast"); got[0] != "7" {
		t.Errorf("a failed COPY changed the table: %v", got)
	}
}

// TestReadCSVColumns reads a CSV file with the columns and types given
// (columns => 'name type, …'), as INSERT … SELECT and CREATE TABLE AS use
// it to load typed tables: values are cast as an INSERT casts them.
func TestReadCSVColumns(t *testing.T) {
	dir := t.TempDir()
	data := "k|amount|day|code|note\n1|2.345|1996-03-13|ab|xyz\n|0.5|2000-02-29||\n"
	if err := os.WriteFile(filepath.Join(dir, "t.tbl"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{FilesDir: dir, Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	const read = "read_csv('t.tbl', delimiter => '|', columns => '%s')"
	typed := fmt.Sprintf(read, "k int, amount numeric(15,2), day date, code char(4), note varchar(5)")
	mustExec(t, s, "CREATE TABLE c AS SELECT * FROM "+typed)
	mustExec(t, s, "CREATE TABLE i (k int, amount numeric(15,2), day date, code char(4), note varchar(5))")
	mustExec(t, s, "INSERT INTO i SELECT * FROM "+typed)
	for _, table := range []string{"c", "i"} {
		got := rows(t, s, "SELECT k, amount, day - DATE '1996-01-01', '<' || code || '>', octet_length(code), note FROM "+table+" ORDER BY k")
		want := []string{"1|2.35|72|<ab>|4|xyz", "NULL|0.50|1520|NULL|NULL|NULL"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: got %v, want %v", table, got, want)
		}
	}
	got := rows(t, s, "SELECT data_type, numeric_scale, character_maximum_length FROM information_schema.columns WHERE table_name = 'c' ORDER BY ordinal_position")
	if want := "integer|0|NULL numeric|2|NULL date|NULL|NULL character|NULL|4 character varying|NULL|5"; strings.Join(got, " ") != want {
		t.Errorf("CREATE TABLE AS types: %v, want %s", got, want)
	}
	for _, c := range []struct{ columns, code string }{
		{"k int, amount text, day text, code text, note varchar(2)", sqlerr.StringTooLong},
		{"k int, amount int, day text, code text, note text", sqlerr.InvalidText},
		{"k int primary key, amount text, day text, code text, note text", sqlerr.InvalidParameter},
		{"k int); DROP TABLE c; --", sqlerr.InvalidParameter},
		{"k nosuchtype", sqlerr.UndefinedObject},
	} {
		_, err := s.Exec(context.Background(), "SELECT * FROM "+fmt.Sprintf(read, c.columns))
		var e *sqlerr.Error
		if !errors.As(err, &e) || e.Code != c.code {
			t.Errorf("columns %q: got %v, want SQLSTATE %s", c.columns, err, c.code)
		}
	}
	if got := rows(t, s, "SELECT count(*) FROM c"); got[0] != "2" {
		t.Errorf("table c: %v", got)
	}
	// a timestamp without an offset is read in the session's time zone
	if err := os.WriteFile(filepath.Join(dir, "tz.csv"), []byte("at\n2024-01-01 10:00:00\n2024-06-01 10:00:00+02\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, s, "SET TimeZone = 'America/New_York'")
	got = rows(t, s, "SELECT at::text FROM read_csv('tz.csv', columns => 'at timestamptz') ORDER BY at")
	if want := "2024-01-01 10:00:00-05 2024-06-01 04:00:00-04"; strings.Join(got, " ") != want {
		t.Errorf("timestamptz: %v, want %s", got, want)
	}
}
