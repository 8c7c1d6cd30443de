package difftest

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	neturl "net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config says what to run.
type Config struct {
	// URL is the PostgreSQL server to compare with.
	URL string
	// Seeds from FirstSeed on; each makes a schema and Queries queries.
	// The run ends after Seeds seeds or when Duration has passed,
	// whichever comes first (0: no bound of that kind).
	FirstSeed int64
	Seeds     int
	Duration  time.Duration
	Queries   int
	// Shapes are the layouts every query runs under on Weft.
	Shapes []Shape
	// UDFDir holds the project's wasm fixtures (testdata/udf/wasm); when
	// set, wasm functions are checked against their built-in equivalents.
	UDFDir string
	// OutDir receives each shrunk mismatch as a .slt file ("" none).
	OutDir string
	// Log receives progress and mismatches (nil: nothing).
	Log io.Writer
}

// DefaultShapes: one partition with the default batch, and three
// partitions of tiny batches (the multi-batch, parallel paths).
var DefaultShapes = []Shape{{Partitions: 1, BatchSize: 0}, {Partitions: 3, BatchSize: 3}}

// Mismatch is a query whose answer on Weft differs from PostgreSQL's (or
// that failed a metamorphic check), shrunk.
type Mismatch struct {
	Seed       int64
	Shape      Shape
	Class      string
	Detail     string
	Statements []string
	Query      string
	// File is the .slt reproduction written for it ("" none).
	File string

	expected answer // PostgreSQL's
	ordered  bool
}

// Report counts what a run did.
type Report struct {
	Seeds, Queries, Agreed, BothFailed, Timeouts, MetamorphicChecks int
	// OrderDependent counts queries where one engine raised a data error
	// (1/0) on a row the other never evaluated: allowed by SQL.
	OrderDependent int
	Mismatches     []Mismatch
}

// ByClass counts the mismatches per class.
func (r *Report) ByClass() map[string]int {
	m := map[string]int{}
	for _, x := range r.Mismatches {
		m[x.Class]++
	}
	return m
}

func (r *Report) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d seeds, %d queries: %d agreed (%d of them errors on both), %d differ only in which rows raised a data error, %d timed out, %d metamorphic checks, %d mismatches\n",
		r.Seeds, r.Queries, r.Agreed, r.BothFailed, r.OrderDependent, r.Timeouts, r.MetamorphicChecks, len(r.Mismatches))
	classes := r.ByClass()
	var names []string
	for c := range classes {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		fmt.Fprintf(&sb, "  %4d  %s\n", classes[c], c)
	}
	return sb.String()
}

// Run runs the differential test.
func Run(cfg Config) (*Report, error) {
	if len(cfg.Shapes) == 0 {
		cfg.Shapes = DefaultShapes
	}
	if cfg.Queries <= 0 {
		cfg.Queries = 50
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	url, err := comparisonDatabase(cfg.URL)
	if err != nil {
		return nil, err
	}
	cfg.URL = url
	start := time.Now()
	rep := &Report{}
	for i := 0; cfg.Seeds <= 0 || i < cfg.Seeds; i++ {
		if cfg.Duration > 0 && time.Since(start) > cfg.Duration {
			break
		}
		seed := cfg.FirstSeed + int64(i)
		if err := runSeed(cfg, seed, rep, logw); err != nil {
			return rep, fmt.Errorf("seed %d: %w", seed, err)
		}
		rep.Seeds++
	}
	return rep, nil
}

// comparisonDatabase makes (once) the database the tester compares in and
// returns its URL: byte order for text, as Weft compares text, and UTF-8
// character classes, as Weft's upper and lower work on every letter.
func comparisonDatabase(url string) (string, error) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = 'weft_difftest')").Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE weft_difftest TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"); err != nil {
			return "", fmt.Errorf("creating the comparison database: %w", err)
		}
	}
	return replaceDatabase(url, "weft_difftest")
}

// replaceDatabase returns url naming database db instead.
func replaceDatabase(raw, db string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Path = "/" + db
	return u.String(), nil
}

// seedRun is the state of one seed: its schema on PostgreSQL and on Weft
// in every shape.
type seedRun struct {
	cfg  Config
	seed int64
	s    *schema
	pg   *pgEngine
	wf   []*weftEngine
}

func runSeed(cfg Config, seed int64, rep *Report, logw io.Writer) error {
	r := rand.New(rand.NewSource(seed))
	s := genSchema(r)
	sr, class, detail, err := load(cfg, seed, s, fmt.Sprintf("difftest_%d", seed))
	if err != nil {
		return err
	}
	defer sr.close(rep)
	if class != "" {
		rep.record(Mismatch{Seed: seed, Class: "load: " + class, Detail: detail, Statements: s.statements()}, cfg, logw)
		return nil
	}
	qg := &queryGen{r: r, s: s}
	for n := 0; n < cfg.Queries; n++ {
		q := qg.gen()
		sql := q.String()
		rep.Queries++
		pa := sr.pg.run(sql)
		agreed := true
		for si, w := range sr.wf {
			wa := w.run(sql)
			if pa.code == "57014" || wa.code == "57014" {
				rep.Timeouts++
				agreed = false
				break
			}
			class, detail := compare(pa, wa, q.ordered(), q.choosesAmongEquals())
			if class == "" {
				continue
			}
			if planDependentError(q, pa, wa) {
				// which rows reach an expression that fails on some
				// (1/0) depends on the plan: PostgreSQL stops reading at
				// a LIMIT, filters rows before or after a join as it
				// costs them, and skips scans its constants make
				// pointless. SQL leaves it open; counted, not failed.
				rep.OrderDependent++
				agreed = false
				break
			}
			agreed = false
			m := sr.shrink(q, si, class, detail)
			rep.record(m, cfg, logw)
			break
		}
		if agreed {
			rep.Agreed++
			if pa.code != "" {
				rep.BothFailed++
			}
		}
		if m, ok := sr.udfCheck(r); ok {
			rep.MetamorphicChecks++
			if m != nil {
				rep.record(*m, cfg, logw)
			}
		}
		if m, ok := sr.partitionCheck(q); ok {
			rep.MetamorphicChecks++
			if m != nil {
				rep.record(*m, cfg, logw)
			}
		}
	}
	return nil
}

// load creates s on PostgreSQL (in schema pgSchema) and on Weft in every
// shape; class is set when the engines disagree about a statement.
func load(cfg Config, seed int64, s *schema, pgSchema string) (*seedRun, string, string, error) {
	pg, err := openPG(context.Background(), cfg.URL, pgSchema)
	if err != nil {
		return nil, "", "", err
	}
	sr := &seedRun{cfg: cfg, seed: seed, s: s, pg: pg}
	for _, sh := range cfg.Shapes {
		w, err := openWeft(sh, cfg.UDFDir)
		if err != nil {
			sr.close(nil)
			return nil, "", "", err
		}
		sr.wf = append(sr.wf, w)
	}
	type step struct {
		sql    string
		copyOf *insert
	}
	var steps []step
	for _, c := range s.creates {
		steps = append(steps, step{sql: c})
	}
	for i := range s.inserts {
		in := &s.inserts[i]
		if len(in.rows) == 0 {
			continue
		}
		if in.copy {
			steps = append(steps, step{sql: "COPY " + in.table + " FROM STDIN", copyOf: in})
		} else {
			steps = append(steps, step{sql: in.String()})
		}
	}
	for _, st := range steps {
		var pa answer
		if st.copyOf != nil {
			pa = pg.copyIn(st.copyOf.table, st.copyOf.copyRows())
		} else {
			pa = pg.run(st.sql)
		}
		for _, w := range sr.wf {
			var wa answer
			if st.copyOf != nil {
				wa = w.copyIn(st.copyOf.table, st.copyOf.copyRows())
			} else {
				wa = w.run(st.sql)
			}
			if (pa.code == "") != (wa.code == "") {
				class, detail := compare(pa, wa, false, false)
				return sr, class, st.sql + "\n" + detail, nil
			}
		}
	}
	return sr, "", "", nil
}

func (sr *seedRun) close(rep *Report) {
	sr.pg.close()
	for i, w := range sr.wf {
		if err := w.close(); err != nil && rep != nil {
			rep.Mismatches = append(rep.Mismatches, Mismatch{Seed: sr.seed, Shape: sr.cfg.Shapes[i], Class: "arrow memory leaked", Detail: err.Error()})
		}
	}
}

func (rep *Report) record(m Mismatch, cfg Config, logw io.Writer) {
	if cfg.OutDir != "" && m.Query != "" {
		name := filepath.Join(cfg.OutDir, fmt.Sprintf("difftest_seed%d_%d.slt", m.Seed, len(rep.Mismatches)))
		if err := os.WriteFile(name, []byte(m.slt()), 0o644); err == nil {
			m.File = name
		}
	}
	rep.Mismatches = append(rep.Mismatches, m)
	fmt.Fprintf(logw, "MISMATCH seed %d shape %+v: %s\n%s\n%s\n\n", m.Seed, m.Shape, m.Class, m.Query, m.Detail)
}

// planDependentError reports a data error (class 22) on one side only:
// one engine evaluated an expression on a row the other never reached
// (a LIMIT, a join or filter order, OR arguments, constants folded or
// not). The known cases of this class that PostgreSQL defines (COALESCE,
// CASE, AND/OR with constants) are covered by slt files instead.
func planDependentError(q *query, pg, wf answer) bool {
	return (pg.code == "") != (wf.code == "") && strings.HasPrefix(pg.code+wf.code, "22")
}

// partitionCheck is ternary logic partitioning, a check that needs no
// reference engine: the rows of a query are the rows where its WHERE
// condition p is true, plus those where NOT p, plus those where p IS
// NULL. It applies to plain queries (no aggregates, DISTINCT or LIMIT).
func (sr *seedRun) partitionCheck(q *query) (*Mismatch, bool) {
	if q.setOp != "" || q.distinct || q.distinctOn || len(q.groupBy) > 0 || hasAgg(q.items) || q.having != nil || q.limit >= 0 || q.where == nil {
		return nil, false
	}
	base := *q
	base.where, base.orderAll = nil, false
	p := q.where.String()
	part := func(cond string) string {
		b := base
		b.where = leaf(cond, kBool)
		return b.String()
	}
	parts := part(p) + " UNION ALL " + part("NOT "+p) + " UNION ALL " + part("("+p+") IS NULL")
	w := sr.wf[len(sr.wf)-1]
	whole, split := w.run(base.String()), w.run(parts)
	if whole.code != "" || split.code != "" {
		return nil, false // a row-dependent error (1/0) may fall in either
	}
	if sameMultiset(whole, split) {
		return nil, true
	}
	return &Mismatch{Seed: sr.seed, Shape: sr.cfg.Shapes[len(sr.wf)-1], Class: "partitioned by its WHERE, the query gives other rows",
		Statements: sr.s.statements(), Query: base.String(),
		Detail: fmt.Sprintf("whole: %d rows; parts (%s): %d rows", len(whole.rows), parts, len(split.rows))}, true
}

// udfCheck compares wasm functions with the built-in expressions they
// compute, over an integer column of a random table and a random filter,
// on every shape: add(x, 1) is x + 1, is_even(x) is x % 2 = 0, clamp(x,
// lo, hi) is greatest(lo, least(hi, x)) for a non-NULL x. PostgreSQL cannot run them; the
// built-ins, checked against it, are the reference.
func (sr *seedRun) udfCheck(r *rand.Rand) (*Mismatch, bool) {
	if sr.cfg.UDFDir == "" || r.Intn(4) > 0 {
		return nil, false
	}
	t := sr.s.tables[r.Intn(len(sr.s.tables))]
	var col string
	for _, c := range t.cols {
		if c.typ.k == kInt {
			col = "a." + c.name
			break
		}
	}
	if col == "" {
		return nil, false
	}
	g := &exprGen{r: r, scope: colsOf(t, "a")}
	where := g.pred(1).String()
	x := "CAST(" + col + " AS bigint)"
	wasm := fmt.Sprintf("SELECT add(%[1]s, 1), is_even(%[1]s), clamp(CAST(%[2]s AS float8), -5.5, 5.5) FROM %[3]s a WHERE %[4]s", x, col, t.name, where)
	// (greatest and least skip NULLs; clamp of NULL is NULL)
	builtin := fmt.Sprintf("SELECT %[1]s + 1, %[1]s %% 2 = 0, CASE WHEN %[2]s IS NOT NULL THEN greatest(-5.5, least(5.5, CAST(%[2]s AS float8))) END FROM %[3]s a WHERE %[4]s", x, col, t.name, where)
	for i, w := range sr.wf {
		a, b := w.run(wasm), w.run(builtin)
		if a.code == "" && b.code == "" && sameMultiset(a, b) || a.code != "" && b.code != "" {
			continue
		}
		return &Mismatch{Seed: sr.seed, Shape: sr.cfg.Shapes[i], Class: "wasm functions differ from their built-in equivalents",
			Statements: sr.s.statements(), Query: wasm,
			Detail: fmt.Sprintf("wasm: %d rows %s %s; built-in (%s): %d rows %s %s", len(a.rows), a.code, a.msg, builtin, len(b.rows), b.code, b.msg)}, true
	}
	return nil, true
}
