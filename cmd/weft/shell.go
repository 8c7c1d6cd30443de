package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/chzyer/readline"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// shell is the interactive prompt: psql-like meta-commands over a session.
type shell struct {
	sess     executor
	out      io.Writer // where results go (\o may redirect)
	console  io.Writer // prompts and messages
	expanded bool
	timing   bool
	format   string // aligned, csv or json
	outFile  *os.File
	tty      bool // console is a terminal: progress rewrites its line
}

// lineReader yields input lines; a terminal gets readline (history,
// editing), anything else is read plainly.
type lineReader interface {
	Readline(prompt string) (string, error)
	Close() error
}

type plainReader struct {
	sc      *bufio.Scanner
	console io.Writer
	echo    bool
}

func (p *plainReader) Readline(prompt string) (string, error) {
	if p.echo {
		fmt.Fprint(p.console, prompt)
	}
	if !p.sc.Scan() {
		if err := p.sc.Err(); err != nil {
			return "", err
		}
		return "", io.EOF
	}
	return p.sc.Text(), nil
}
func (p *plainReader) Close() error { return nil }

type rlReader struct{ rl *readline.Instance }

func (r *rlReader) Readline(prompt string) (string, error) {
	r.rl.SetPrompt(prompt)
	return r.rl.Readline()
}
func (r *rlReader) Close() error { return r.rl.Close() }

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newLineReader(in *os.File, console io.Writer) lineReader {
	if isTerminal(in) {
		history := ""
		if home, err := os.UserHomeDir(); err == nil {
			history = filepath.Join(home, ".weft_history")
		}
		rl, err := readline.NewEx(&readline.Config{HistoryFile: history, InterruptPrompt: "^C", EOFPrompt: `\q`})
		if err == nil {
			return &rlReader{rl}
		}
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	return &plainReader{sc: sc, console: console}
}

// run reads statements until \q or the end of input.
func (s *shell) run(r lineReader) {
	defer r.Close()
	fmt.Fprintf(s.console, "Weft %s — type SQL ending with ';', \\? for help, \\q to quit.\n", engine.Version)
	var buf strings.Builder
	for {
		prompt := "weft=> "
		if buf.Len() > 0 {
			prompt = "weft-> "
		}
		line, err := r.Readline(prompt)
		if errors.Is(err, readline.ErrInterrupt) {
			buf.Reset() // Ctrl-C at the prompt drops the statement being typed
			continue
		}
		if err != nil {
			break
		}
		if buf.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), `\`) {
			if !s.meta(strings.TrimSpace(line)) {
				return
			}
			continue
		}
		buf.WriteString(line)
		buf.WriteString("\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			s.exec(buf.String())
			buf.Reset()
		}
	}
	if strings.TrimSpace(buf.String()) != "" {
		s.exec(buf.String())
	}
}

// exec runs SQL; Ctrl-C cancels the running statement, not the shell.
func (s *shell) exec(sql string) bool {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() { // a progress line for statements that run long
		defer close(stopped)
		s.showProgress(done, start)
	}()
	results, err := s.sess.Exec(ctx, sql)
	close(done)
	<-stopped
	for _, r := range results {
		s.print(r)
		r.Release()
	}
	if err != nil {
		fmt.Fprintln(s.console, sqlerr.Format(err))
	}
	if d := time.Since(start); s.timing || d > time.Second {
		fmt.Fprintf(s.console, "Time: %.3f ms\n", float64(d.Microseconds())/1000)
	}
	return err == nil
}

func (s *shell) print(r *engine.Result) {
	switch {
	case !r.Query:
		printResult(s.out, r)
	case s.format == "csv":
		printCSV(s.out, r)
	case s.format == "json":
		printJSON(s.out, r)
	case s.expanded:
		printExpanded(s.out, r)
	default:
		printResult(s.out, r)
	}
}

// meta runs a backslash command; false means quit.
func (s *shell) meta(cmd string) bool {
	name, arg, _ := strings.Cut(cmd, " ")
	arg = strings.TrimSpace(arg)
	toggle := func(v *bool, label string) {
		switch arg {
		case "on":
			*v = true
		case "off":
			*v = false
		default:
			*v = !*v
		}
		state := "off"
		if *v {
			state = "on"
		}
		fmt.Fprintf(s.console, "%s is %s.\n", label, state)
	}
	switch name {
	case `\q`:
		return false
	case `\x`:
		toggle(&s.expanded, "Expanded display")
	case `\timing`:
		toggle(&s.timing, "Timing")
	case `\pset`:
		f := strings.Fields(arg)
		if len(f) == 2 && f[0] == "format" && (f[1] == "csv" || f[1] == "aligned" || f[1] == "json") {
			s.format = f[1]
			fmt.Fprintf(s.console, "Output format is %s.\n", f[1])
		} else {
			fmt.Fprintln(s.console, `\pset: use \pset format aligned|csv|json`)
		}
	case `\o`:
		if s.outFile != nil {
			s.outFile.Close()
			s.outFile, s.out = nil, s.console
		}
		if arg != "" {
			f, err := os.Create(arg)
			if err != nil {
				fmt.Fprintln(s.console, err)
				break
			}
			s.outFile, s.out = f, f
		}
	case `\i`:
		text, err := os.ReadFile(arg)
		if err != nil {
			fmt.Fprintln(s.console, err)
			break
		}
		s.exec(string(text))
	case `\dt`:
		s.exec(`SELECT n.nspname AS "Schema", c.relname AS "Name", 'table' AS "Type" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' ORDER BY 1, 2;`)
	case `\d`:
		if arg == "" {
			s.exec(`SELECT n.nspname AS "Schema", c.relname AS "Name", CASE c.relkind WHEN 'r' THEN 'table' ELSE 'view' END AS "Type" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2;`)
		} else if !s.relationExists(arg) {
			fmt.Fprintf(s.console, "Did not find any relation named \"%s\".\n", arg)
		} else {
			s.exec(fmt.Sprintf(`SELECT a.attname AS "Column", pg_catalog.format_type(a.atttypid, a.atttypmod) AS "Type", CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS "Nullable", d.adbin AS "Default" FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE c.relname = '%s' ORDER BY a.attnum;`, strings.ReplaceAll(arg, "'", "''")))
		}
	case `\dn`:
		s.exec(`SELECT nspname AS "Name" FROM pg_catalog.pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1;`)
	case `\df`:
		s.exec(`SELECT schema AS "Schema", name AS "Name", result AS "Result data type", signature AS "Signature", kind AS "Type" FROM weft.functions ORDER BY 1, 2;`)
	case `\?`:
		fmt.Fprint(s.console, `  \q                quit
  \x [on|off]       expanded display
  \timing [on|off]  show how long statements take
  \pset format aligned|csv|json
  \o [file]         send results to a file (none: back to the screen)
  \i file           run the SQL in a file
  \d [name]         list relations, or describe one
  \dt  \dn  \df     tables, schemas, functions
`)
	default:
		fmt.Fprintf(s.console, "invalid command %s; try \\?\n", name)
	}
	return true
}

// printExpanded prints each row as a block of "column | value" lines.
func printExpanded(out io.Writer, r *engine.Result) {
	width := 0
	for _, c := range r.Columns {
		width = max(width, len(c.Name))
	}
	n := 0
	for _, b := range r.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			n++
			fmt.Fprintf(out, "-[ RECORD %d ]%s\n", n, strings.Repeat("-", width))
			for c, col := range r.Columns {
				fmt.Fprintf(out, "%-*s | %s\n", width, col.Name, r.FormatValue(c, exec.DatumAt(b.Column(c), i)))
			}
		}
	}
	if n == 0 {
		fmt.Fprintln(out, "(0 rows)")
	}
	fmt.Fprintln(out)
}

// printCSV prints a header line and one CSV line per row.
func printCSV(out io.Writer, r *engine.Result) {
	w := csv.NewWriter(out)
	names := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		names[i] = c.Name
	}
	w.Write(names)
	for _, b := range r.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]string, len(r.Columns))
			for c := range r.Columns {
				if d := exec.DatumAt(b.Column(c), i); d != nil {
					row[c] = r.FormatValue(c, d)
				}
			}
			w.Write(row)
		}
	}
	w.Flush()
}

// printJSON prints a result as a JSON array of objects, one per row:
// numbers and booleans as JSON values, everything else as its text.
func printJSON(out io.Writer, r *engine.Result) {
	rows := []map[string]any{}
	for _, b := range r.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			row := make(map[string]any, len(r.Columns))
			for c, col := range r.Columns {
				d := exec.DatumAt(b.Column(c), i)
				switch {
				case d == nil:
					row[col.Name] = nil
				case col.Type.Kind == types.Bool:
					row[col.Name] = d
				case col.Type.IsNumber() && col.Type.PG == 0:
					text := r.FormatValue(c, d)
					if json.Valid([]byte(text)) {
						row[col.Name] = json.RawMessage(text)
					} else {
						row[col.Name] = text // NaN, Infinity
					}
				default:
					row[col.Name] = r.FormatValue(c, d)
				}
			}
			rows = append(rows, row)
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.Encode(rows)
}

// progressReporter is an executor that can say how much a running load has
// read (the embedded engine; not a remote server).
type progressReporter interface {
	Progress() (rows, bytes int64)
}

// showProgress reports on a statement that runs over a second: rows and
// MB/s of a load, once a second (rewriting one line on a terminal), until
// done closes.
func (s *shell) showProgress(done <-chan struct{}, start time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	pr, _ := s.sess.(progressReporter)
	shown := false
	for {
		select {
		case <-done:
			if shown && s.tty {
				fmt.Fprint(s.console, "\n")
			}
			return
		case <-tick.C:
		}
		line := "… running (Ctrl-C cancels)"
		if pr != nil {
			if rows, bytes := pr.Progress(); rows > 0 || bytes > 0 {
				secs := time.Since(start).Seconds()
				line = fmt.Sprintf("… %d rows, %.1f MB (%.1f MB/s) (Ctrl-C cancels)", rows, float64(bytes)/(1<<20), float64(bytes)/(1<<20)/secs)
			}
		}
		switch {
		case s.tty:
			fmt.Fprint(s.console, "\r"+line+"\x1b[K")
		case !shown:
			fmt.Fprintln(s.console, line)
		}
		shown = true
	}
}

// relationExists reports whether \d name has a relation to describe.
func (s *shell) relationExists(name string) bool {
	rs, err := s.sess.Exec(context.Background(), fmt.Sprintf("SELECT 1 FROM pg_catalog.pg_class WHERE relname = '%s'", strings.ReplaceAll(name, "'", "''")))
	defer func() {
		for _, r := range rs {
			r.Release()
		}
	}()
	if err != nil {
		return true // let the describe query report the error
	}
	for _, r := range rs {
		for _, b := range r.Batches {
			if b.NumRows() > 0 {
				return true
			}
		}
	}
	return false
}
