package copyfmt

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

func str(s string) *string { return &s }

// render shows a row as fields joined by "|", NULL as <null>.
func render(fields []*string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		if f == nil {
			out[i] = "<null>"
		} else {
			out[i] = "[" + *f + "]"
		}
	}
	return strings.Join(out, "|")
}

func readAll(t *testing.T, data string, o Options) ([]string, []int, error) {
	t.Helper()
	r := NewReader(strings.NewReader(data), o)
	var rows []string
	var lines []int
	for {
		f, line, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, lines, nil
		}
		if err != nil {
			return rows, lines, err
		}
		rows = append(rows, render(f))
		lines = append(lines, line)
	}
}

func TestRead(t *testing.T) {
	text := Options{Format: "text", Delimiter: '\t', Null: `\N`}
	csv := Options{Format: "csv", Delimiter: ',', Null: ""}
	for _, c := range []struct {
		name  string
		data  string
		o     Options
		rows  []string
		lines []int
	}{
		// a blank line is a row of one empty field, as in PostgreSQL
		{"text escapes and NULL", "a\\tb\t\\N\tx\\\\y\n\n1\t\t\\n\n", text,
			[]string{"[a\tb]|<null>|[x\\y]", "[]", "[1]|[]|[\n]"}, []int{1, 2, 3}},
		{"text escaped delimiter", "a\\,b,c\n", Options{Format: "text", Delimiter: ',', Null: `\N`},
			[]string{"[a,b]|[c]"}, []int{1}},
		{"text end marker and CRLF", "1\r\n\\.\n2\n", text, []string{"[1]"}, []int{1}},
		{"csv quoted empty is not NULL", "a,,\"\"\n", csv, []string{"[a]|<null>|[]"}, []int{1}},
		{"csv quotes, doubled quotes, line breaks", "\"x, \"\"y\"\"\",\"two\nlines\"\n3,4\n", csv,
			[]string{"[x, \"y\"]|[two\nlines]", "[3]|[4]"}, []int{1, 3}},
		{"csv header skipped", "h1,h2\n1,2\n", Options{Format: "csv", Delimiter: ',', Header: true},
			[]string{"[1]|[2]"}, []int{2}},
		{"csv NULL spelling", "NA,\"NA\",x\n", Options{Format: "csv", Delimiter: ',', Null: "NA"},
			[]string{"<null>|[NA]|[x]"}, []int{1}},
		{"csv no final newline", "1;2", Options{Format: "csv", Delimiter: ';'}, []string{"[1]|[2]"}, []int{1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, lines, err := readAll(t, c.data, c.o)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows, "\n") != strings.Join(c.rows, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(c.rows, "\n"))
			}
			for i := range lines {
				if i < len(c.lines) && lines[i] != c.lines[i] {
					t.Errorf("row %d starts on line %d, want %d", i, lines[i], c.lines[i])
				}
			}
		})
	}
}

func TestUnterminatedQuote(t *testing.T) {
	_, _, err := readAll(t, "1,ok\n2,\"open\nstill open\n", Options{Format: "csv", Delimiter: ','})
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != sqlerr.BadCopyFileFormat || !strings.Contains(e.Message, "line 2") {
		t.Errorf("got %v, want a 22P04 error naming line 2", err)
	}
}

// TestRoundTrip writes awkward values in each format and reads them back.
func TestRoundTrip(t *testing.T) {
	values := []*string{str(""), nil, str("NULL"), str(`\N`), str("a,b"), str("tab\there"), str("quote\"s"),
		str("new\nline"), str(`back\slash`), str("ünïcode"), str(`\.`), str("cr\r")}
	for _, o := range []Options{
		{Format: "text", Delimiter: '\t', Null: `\N`},
		{Format: "text", Delimiter: ',', Null: `\N`},
		{Format: "csv", Delimiter: ',', Null: ""},
		{Format: "csv", Delimiter: '|', Null: "NULL"},
	} {
		var buf bytes.Buffer
		AppendRow(&buf, values, o)
		AppendRow(&buf, values[:1], o)
		rows, _, err := readAll(t, buf.String(), o)
		if err != nil {
			t.Fatalf("%s %q: %v", o.Format, o.Delimiter, err)
		}
		if len(rows) != 2 || rows[0] != render(values) || rows[1] != render(values[:1]) {
			t.Errorf("%s %q: wrote %q, read back %v", o.Format, o.Delimiter, buf.String(), rows)
		}
	}
}

// TestLongLines reads lines longer than the read buffer, plain and quoted
// over several lines, through ReadFields and Read.
func TestLongLines(t *testing.T) {
	long := strings.Repeat("x", 200_000)
	for _, o := range []Options{{Format: "csv", Delimiter: ',', Null: ""}, {Format: "text", Delimiter: '\t', Null: `\N`}} {
		var buf bytes.Buffer
		AppendRow(&buf, []*string{str("a"), str(long), nil}, o)
		AppendRow(&buf, []*string{str(long + "\n" + long), str("b"), str("")}, o)
		rows, _, err := readAll(t, buf.String(), o)
		if err != nil {
			t.Fatalf("%s: %v", o.Format, err)
		}
		want := []string{"[a]|[" + long + "]|<null>", "[" + long + "\n" + long + "]|[b]|[]"}
		if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
			t.Errorf("%s: read back %d rows, not what was written", o.Format, len(rows))
		}
	}
}
