package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// A database with workers (Options.Workers, CALL weft.add_worker) is a
// coordinator: the leaf pipelines of a query's plan run on the workers
// (package cluster, docs/cluster.md). This file decides what may run
// there and wires the registry into statements; workerrun.go is the
// worker's side.

// fragmentSettings are the session settings that shape a plan or what
// its expressions compute: a worker planning a fragment takes them.
var fragmentSettings = []string{"search_path", "timezone", "weft.null_order", "weft.udf_row_errors", "enable_indexscan", "datestyle", "intervalstyle", "extra_float_digits", fileSplitRowsSetting}

// distributeSetting turns distribution off for a session (SET
// weft.distribute = off: its queries run here although workers are up),
// to compare, or to keep a session's work off the workers.
const distributeSetting = "weft.distribute"

// broadcastRowsSetting bounds the rows under a join's build side for
// the join to be broadcast to the workers (cluster.BroadcastRows); a
// larger one is shuffled.
const broadcastRowsSetting = "weft.broadcast_rows"

// shuffleGroupsSetting bounds the groups an aggregation is expected to
// make for it to be shuffled by key across the workers
// (cluster.ShuffleGroups); 0 shuffles every aggregation that can be.
const shuffleGroupsSetting = "weft.shuffle_groups"

func (s *Session) shuffleGroups() int64 {
	n, err := strconv.ParseInt(s.settings[shuffleGroupsSetting], 10, 64)
	if err != nil || n < 0 {
		return cluster.ShuffleGroups
	}
	return n
}

// groupEstimates estimates the groups of the plan's aggregations for
// the distributor: an exec.HashAggregate is matched with the logical
// aggregations of as many group keys, and takes the largest of their
// estimates (the distributor caps it by the rows under it). A wrong
// match changes only where the groups are merged, never the answer.
func groupEstimates(p logical.Plan) func(*exec.HashAggregate) float64 {
	k := keyFacts{est: logical.NewEstimator(), computed: map[logical.ColumnID]bool{}, source: map[logical.ColumnID]float64{}}
	byKeys := map[int]float64{}
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		for _, c := range p.Children() {
			visit(c)
		}
		k.note(p)
		if a, ok := p.(*logical.Aggregate); ok && len(a.Groups) > 0 {
			byKeys[len(a.Groups)] = max(byKeys[len(a.Groups)], k.groups(a))
		}
	}
	visit(p)
	return func(h *exec.HashAggregate) float64 { return byKeys[len(h.Keys)] }
}

// computedKeyValues is how many values a computed group key is taken to
// have, as the planner's estimator counts a computed GROUP BY expression
// (its defaultGroupNDV).
const computedKeyValues = 200

// keyFacts are what group estimates know of the plan's columns beyond
// the estimator: which are computed by a projection or an aggregation,
// and the rows of the leaf (a table's scan) each stored column comes
// from.
type keyFacts struct {
	est      *logical.Estimator
	computed map[logical.ColumnID]bool
	source   map[logical.ColumnID]float64
}

// groups is the estimator's count of a's groups (the product of its
// keys' distinct values, at most its input's rows), with two bounds the
// estimator does not apply once a column has passed a join or a
// projection without statistics (it then counts as unique): a stored
// column has at most as many values as the rows of the scan it comes
// from (TPC-H q09's nation name, 25), and a computed one counts as a
// computed GROUP BY expression does (q09's year of a subquery). Without
// them an aggregation of a few hundred groups over a join would be
// shuffled.
func (k keyFacts) groups(a *logical.Aggregate) float64 {
	in := k.est.Card(a.Input)
	groups := 1.0
	for _, g := range a.Groups {
		values := min(float64(computedKeyValues), max(in.Rows, 1))
		if id, ok := keyColumn(g); ok && !k.computed[id] {
			values = in.Distinct(id)
			if rows, ok := k.source[id]; ok {
				values = min(values, rows)
			}
			if in.NullFrac(id) > 0 {
				values++ // NULL is a group of its own
			}
		}
		groups *= values
	}
	return max(1, min(groups, in.Rows))
}

// note records what p tells of its columns: a leaf's rows, the columns
// a projection computes (expressions that are not columns) and an
// aggregation's aggregates and computed keys.
func (k keyFacts) note(p logical.Plan) {
	switch n := p.(type) {
	case *logical.Project:
		for i, e := range n.Exprs {
			if id, ok := keyColumn(e); (!ok || k.computed[id]) && i < len(n.Cols) {
				k.computed[n.Cols[i].ID] = true
			}
		}
	case *logical.Aggregate:
		for i, c := range n.Cols {
			if i >= len(n.Groups) {
				k.computed[c.ID] = true // an aggregate
				continue
			}
			if id, ok := keyColumn(n.Groups[i]); !ok || k.computed[id] {
				k.computed[c.ID] = true
			}
		}
	}
	if len(p.Children()) == 0 {
		rows := max(1, k.est.Rows(p))
		for _, c := range p.Columns() {
			k.source[c.ID] = rows
		}
	}
}

// keyColumn is the column e reads, through casts.
func keyColumn(e logical.Expr) (logical.ColumnID, bool) {
	for {
		switch x := e.(type) {
		case *logical.ColRef:
			return x.Col.ID, true
		case *logical.Cast:
			e = x.Arg
		default:
			return 0, false
		}
	}
}

func (s *Session) broadcastRows() int64 {
	n, err := strconv.ParseInt(s.settings[broadcastRowsSetting], 10, 64)
	if err != nil || n < 0 {
		return cluster.BroadcastRows
	}
	return n
}

// registry is the database's workers, nil while it has never had one.
func (db *DB) registry() *cluster.Registry {
	db.clusterMu.Lock()
	defer db.clusterMu.Unlock()
	return db.cluster
}

// ensureRegistry starts the registry on first use, with the cluster
// secret its workers check (made in the data directory if missing).
func (db *DB) ensureRegistry() (*cluster.Registry, error) {
	db.clusterMu.Lock()
	defer db.clusterMu.Unlock()
	if db.cluster == nil {
		if db.store == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "an in-memory database cannot have workers: they read its data directory")
		}
		secret, err := cluster.LoadOrCreateSecret(db.clusterSecretFile())
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidAuthorization, "the cluster secret its workers check: %v", err)
		}
		db.cluster = cluster.NewRegistry(cluster.RegistryOptions{Version: Version, DataDir: db.store.Dir(), Timeout: db.opts.WorkerTimeout, Secret: secret})
		db.cluster.SetPlacement(db.placeCached) // (cachestmt.go)
	}
	return db.cluster, nil
}

// clusterSecretFile is the file of the secret shared with the workers.
func (db *DB) clusterSecretFile() string {
	if db.opts.ClusterSecretFile != "" {
		return db.opts.ClusterSecretFile
	}
	return cluster.DefaultSecretFile(db.store.Dir())
}

// startWorkers registers the workers Options names; one that does not
// answer yet stays registered, down, and is retried.
func (db *DB) startWorkers() error {
	if len(db.opts.Workers) == 0 {
		return nil
	}
	reg, err := db.ensureRegistry()
	if err != nil {
		return err
	}
	for _, addr := range db.opts.Workers {
		if err := reg.Add(context.Background(), addr, true); err != nil && db.opts.UDF.Log != nil {
			fmt.Fprintf(db.opts.UDF.Log, "weft: %v (retrying)\n", sqlerr.Format(err))
		}
	}
	return nil
}

// workerCall runs CALL weft.add_worker('host:port') and
// weft.remove_worker('host:port'); handled reports a call of neither.
func (s *Session) workerCall(ctx context.Context, name string, fc *pg.FuncCall) (res *Result, handled bool, err error) {
	if name != "weft.add_worker" && name != "weft.remove_worker" {
		return nil, false, nil
	}
	if len(fc.Args) != 1 || fc.Args[0].GetAConst().GetSval() == nil {
		return nil, true, sqlerr.New(sqlerr.UndefinedFunction, "procedure %s takes one text literal: the worker's address as 'host:port'", name)
	}
	if !s.isSuperuser() {
		return nil, true, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to call %s", name).WithHint("Only a superuser may change the cluster's workers.")
	}
	addr := strings.TrimSpace(fc.Args[0].GetAConst().GetSval().Sval)
	if _, port, ok := strings.Cut(addr, ":"); !ok || port == "" {
		return nil, true, sqlerr.New(sqlerr.InvalidParameter, "worker address %q is not host:port", addr)
	}
	if name == "weft.add_worker" {
		var reg *cluster.Registry
		if reg, err = s.db.ensureRegistry(); err == nil {
			err = reg.Add(ctx, addr, false)
		}
	} else if reg := s.db.registry(); reg == nil {
		err = sqlerr.New(sqlerr.UndefinedObject, "worker %s is not registered", addr)
	} else {
		err = reg.Remove(addr)
	}
	if err != nil {
		return nil, true, err
	}
	return &Result{Tag: "CALL"}, true, nil
}

// workerRows are the rows of weft.workers.
func (db *DB) workerRows() [][]types.Datum {
	reg := db.registry()
	if reg == nil {
		return nil
	}
	var rows [][]types.Datum
	for _, w := range reg.Workers() {
		var beat types.Datum
		if !w.LastBeat.IsZero() {
			beat = w.LastBeat.UnixMicro()
		}
		var reason types.Datum
		if w.Reason != "" {
			reason = w.Reason
		}
		rows = append(rows, []types.Datum{w.Address, w.State, reason, beat, w.Fragments, w.PartitionsLost, w.PID})
	}
	return rows
}

// distribute hands the leaf pipelines of op, the plan of the statement
// the session is running (its text s.fragmentSQL), to the workers. A
// plan that cannot go, or part of it, runs here as before; why is kept
// for EXPLAIN.
func (s *Session) distribute(env *exec.Env, p logical.Plan, op exec.Operator) exec.Operator {
	s.distributedWhy = ""
	// the statement's own plan is the first built: a plan built later
	// while it runs (a function's query) is not the one its text makes
	sql := s.fragmentSQL
	s.fragmentSQL = ""
	reg := s.db.registry()
	if reg == nil || sql == "" || s.db.store == nil {
		return op
	}
	if s.settings[distributeSetting] == "off" {
		s.distributedWhy = distributeSetting + " is off"
		return op
	}
	if reg.Live() == 0 {
		s.distributedWhy = "no worker is up"
		return op
	}
	if why := s.notDistributable(p); why != "" {
		s.distributedWhy = why
		return op
	}
	if why := s.ensureStored(op); why != "" {
		s.distributedWhy = why
		return op
	}
	frag := &clusterpb.Fragment{QueryId: newQueryID(), Sql: sql, Generation: s.db.store.Generation(),
		StatementTimeUnixMicros: env.Now.UnixMicro(), BatchSize: uint32(env.BatchSize), Parallelism: uint32(env.Parallelism),
		User: s.currentRole(), Settings: map[string]string{}, CachedTables: s.db.cachedOIDs()}
	for _, name := range fragmentSettings {
		if v, ok := s.Setting(name); ok {
			frag.Settings[name] = v
		}
	}
	params, err := encodeParams(s.params, s.paramTypes)
	if err != nil {
		s.distributedWhy = "a parameter cannot be sent: " + err.Error()
		return op
	}
	frag.Params = params
	frag.Modules = s.shipModules(reg, p) // (moduleship.go)
	frag.Stats = s.scannedStats(op)
	out, why := reg.Distribute(op, frag, env.Mem, func(sc *exec.Scan) string {
		if gen, ok := s.storedAt(sc); !ok || gen != frag.Generation {
			return "table " + sc.Name + " has changes that are not checkpointed"
		}
		return ""
	}, cluster.Limits{BroadcastRows: s.broadcastRows(), MemoryLimit: statementLimit(env), ShuffleGroups: s.shuffleGroups(), Groups: groupEstimates(p),
		NoShuffle: drawnKeys(p)})
	s.distributedWhy = why
	stampFileScans(out) // (filesplit.go)
	return out
}

// scannedStats are the statistics the plan's tables had when it was
// made, for the workers to plan with.
func (s *Session) scannedStats(op exec.Operator) []*clusterpb.TableStats {
	var scans []*exec.Scan
	collectScans(op, &scans)
	var out []*clusterpb.TableStats
	seen := map[string]bool{}
	for _, sc := range scans {
		schema, name, ok := strings.Cut(sc.Name, ".")
		if !ok || seen[sc.Name] {
			continue
		}
		seen[sc.Name] = true
		t, _, ok := s.db.cat.Lookup(schema, name, nil)
		if !ok || t == nil || t.CachedStats() == nil {
			continue
		}
		st := t.CachedStats()
		ts := &clusterpb.TableStats{Table: sc.Name, Rows: st.Rows}
		for _, c := range st.Columns {
			ts.Columns = append(ts.Columns, &clusterpb.ColumnStats{Distinct: c.Distinct, NullFrac: c.NullFrac})
		}
		out = append(out, ts)
	}
	return out
}

// useStats gives the worker's tables the coordinator's statistics of a
// fragment, so that its plan is the coordinator's.
func (s *Session) useStats(stats []*clusterpb.TableStats) {
	for _, ts := range stats {
		schema, name, ok := strings.Cut(ts.Table, ".")
		if !ok {
			continue
		}
		t, _, ok := s.db.cat.Lookup(schema, name, nil)
		if !ok || t == nil || len(ts.Columns) != len(t.Columns) {
			continue
		}
		st := &catalog.TableStats{Rows: ts.Rows, Columns: make([]catalog.ColumnStats, len(ts.Columns))}
		for i, c := range ts.Columns {
			st.Columns[i] = catalog.ColumnStats{Distinct: c.Distinct, NullFrac: c.NullFrac}
		}
		t.UseStats(st)
	}
}

// ensureStored checkpoints once when a table the plan scans has rows
// the catalog on disk does not hold yet (the write-ahead log's), so
// that workers read what the statement sees. Inside a transaction block
// the statement may see its own changes: then nothing is stored and the
// scans that differ stay here.
func (s *Session) ensureStored(op exec.Operator) string {
	var scans []*exec.Scan
	collectScans(op, &scans)
	for _, sc := range scans {
		if _, ok := s.storedAt(sc); ok {
			continue
		}
		// only rows the log holds wait for a checkpoint (every other
		// change is checkpointed as it commits); a temporary table is
		// never stored
		if s.tx != nil || !s.db.store.LogHoldsRows() {
			return ""
		}
		if err := s.db.persist(); err != nil {
			return "checkpoint failed: " + sqlerr.Wrap(err).Message
		}
		return ""
	}
	return ""
}

// storedAt reports whether a scan reads exactly what the catalog on
// disk holds for its table (storage.Store.StoredAt), at which generation.
// The table is found by the scan's name: an empty scan says nothing of
// which table it read.
func (s *Session) storedAt(sc *exec.Scan) (uint64, bool) {
	schema, name, ok := strings.Cut(sc.Name, ".")
	if !ok {
		return 0, false
	}
	t, _, ok := s.db.cat.Lookup(schema, name, nil)
	if !ok || t == nil {
		return 0, false
	}
	return s.db.store.StoredAt(t.OID, sc.Parts)
}

func collectScans(op exec.Operator, out *[]*exec.Scan) {
	if in, ok := op.(*exec.Instrumented); ok {
		op = in.Inner
	}
	if sc, ok := op.(*exec.Scan); ok {
		*out = append(*out, sc)
	}
	for _, c := range op.Children() {
		collectScans(c, out)
	}
}

// notDistributable says why a query must run whole here: a worker
// planning its SQL again would not compute the same rows.
func (s *Session) notDistributable(p logical.Plan) string {
	why := ""
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		if why != "" {
			return
		}
		if _, ok := p.(*logical.Apply); ok {
			why = "a correlated subquery runs here"
			return
		}
		if ps, ok := p.(*logical.ProjectSet); ok {
			for _, f := range ps.Funcs {
				if f.Gen != nil {
					why = "a PL/pgSQL function (" + f.Gen.Name + ") runs here" // its body runs in this session
					return
				}
			}
		}
		for _, e := range planExprs(p) {
			if name := unshippableVolatile(e); name != "" {
				why = "a volatile function (" + name + ") runs here"
				return
			}
			if logical.HasSubquery(e) {
				why = "a subquery expression runs here"
				return
			}
		}
		for _, c := range p.Children() {
			visit(c)
		}
	}
	visit(p)
	return why
}

// drawnKeys reports whether a join key or a grouping key of p reads a
// value a volatile function drew, directly or through the columns
// computed from one: a shuffle on such a key would send a row to
// another bucket in another draw (docs/cluster.md, Volatile functions),
// so such a query shuffles nothing. Conservative: a node that makes new
// columns from drawn ones (a window, a set operation) counts them all
// as drawn.
func drawnKeys(p logical.Plan) bool {
	drawn := map[logical.ColumnID]bool{}
	reads := func(e logical.Expr) bool {
		if e == nil {
			return false
		}
		hit := logical.IsVolatile(e)
		logical.Walk(e, func(x logical.Expr) bool {
			if c, ok := x.(*logical.ColRef); ok && drawn[c.Col.ID] {
				hit = true
			}
			return !hit
		})
		return hit
	}
	anyDrawn := func(cols []logical.Column) bool {
		for _, c := range cols {
			if drawn[c.ID] {
				return true
			}
		}
		return false
	}
	found := false
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		var inputs []logical.Column
		for _, c := range p.Children() {
			visit(c)
			inputs = append(inputs, c.Columns()...)
		}
		switch n := p.(type) {
		case *logical.Project:
			for i, e := range n.Exprs {
				if i < len(n.Cols) && reads(e) {
					drawn[n.Cols[i].ID] = true
				}
			}
			return
		case *logical.Aggregate:
			for i, g := range n.Groups {
				if reads(g) {
					found = true
					if i < len(n.Cols) {
						drawn[n.Cols[i].ID] = true
					}
				}
			}
		case *logical.Join:
			for _, k := range append(append([]logical.Expr{n.Cond}, n.LeftKeys...), n.RightKeys...) {
				found = found || reads(k)
			}
		case *logical.Distinct, *logical.DistinctOn:
			found = found || anyDrawn(inputs)
		}
		if !anyDrawn(inputs) {
			return
		}
		passed := map[logical.ColumnID]bool{}
		for _, c := range inputs {
			passed[c.ID] = true
		}
		for _, c := range p.Columns() {
			if !passed[c.ID] {
				drawn[c.ID] = true // made from drawn columns, maybe
			}
		}
	}
	visit(p)
	return found
}

// unshippableVolatile names a volatile function e calls that the
// workers may not compute ("" when none): only those whose every row's
// value stands alone (cluster.RowwiseVolatile, docs/cluster.md) go.
func unshippableVolatile(e logical.Expr) string {
	name := ""
	logical.Walk(e, func(x logical.Expr) bool {
		if c, ok := x.(*logical.Call); ok && c.Volatile && !cluster.RowwiseVolatile(c.Name) {
			name = c.Name
		}
		return name == ""
	})
	return name
}

// planExprs finds the expressions a plan node holds in its fields
// (conditions, projections, aggregate arguments, sort keys), whatever
// the node's type: a node type added later is covered too.
func planExprs(p logical.Plan) []logical.Expr {
	var out []logical.Expr
	exprType := reflect.TypeFor[logical.Expr]()
	planType := reflect.TypeFor[logical.Plan]()
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if depth > 6 || !v.IsValid() {
			return
		}
		switch v.Kind() {
		case reflect.Interface:
			if v.IsNil() {
				return
			}
			if v.Type() == exprType {
				out = append(out, v.Interface().(logical.Expr))
				return
			}
			if v.Type() == planType {
				return // children are visited as plans
			}
			walk(v.Elem(), depth+1)
		case reflect.Pointer:
			if v.IsNil() || !ofLogical(v.Type().Elem()) {
				return
			}
			if v.Type().Implements(planType) && depth > 0 {
				return
			}
			if v.Type().Implements(exprType) {
				out = append(out, v.Interface().(logical.Expr))
				return
			}
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			if !ofLogical(v.Type()) {
				return
			}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), depth+1)
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(p), 0)
	return out
}

// ofLogical reports a type of package logical: expressions are looked
// for there only (not in the catalog's tables or kernels a node points to).
func ofLogical(t reflect.Type) bool {
	return t.PkgPath() == reflect.TypeFor[logical.Column]().PkgPath()
}

// encodeParams renders parameter values as their types' text, checking
// that each reads back as itself.
func encodeParams(params []types.Datum, ts []types.T) ([]*clusterpb.Param, error) {
	out := make([]*clusterpb.Param, len(params))
	for i, d := range params {
		if i >= len(ts) {
			return nil, fmt.Errorf("$%d has no type", i+1)
		}
		tj, err := json.Marshal(ts[i])
		if err != nil {
			return nil, fmt.Errorf("$%d: %v", i+1, err)
		}
		if d == nil {
			out[i] = &clusterpb.Param{TypeJson: string(tj), Null: true}
			continue
		}
		text := types.Format(ts[i], d)
		back, err := decodeParam(&clusterpb.Param{TypeJson: string(tj), Text: text})
		if err != nil || back.Value == nil || types.Format(back.T, back.Value) != text {
			return nil, fmt.Errorf("$%d (%s) does not read back as itself", i+1, ts[i])
		}
		out[i] = &clusterpb.Param{TypeJson: string(tj), Text: text}
	}
	return out, nil
}

type decodedParam struct {
	T     types.T
	Value types.Datum
}

func decodeParam(p *clusterpb.Param) (decodedParam, error) {
	var t types.T
	if err := json.Unmarshal([]byte(p.TypeJson), &t); err != nil {
		return decodedParam{}, err
	}
	if p.Null {
		return decodedParam{T: t}, nil
	}
	v, err := types.Parse(t, p.Text)
	return decodedParam{T: t, Value: v}, err
}

// decodeParams reads a fragment's parameters back.
func decodeParams(ps []*clusterpb.Param) ([]types.Datum, []types.T, error) {
	vals, ts := make([]types.Datum, len(ps)), make([]types.T, len(ps))
	for i, p := range ps {
		d, err := decodeParam(p)
		if err != nil {
			return nil, nil, fmt.Errorf("$%d: %v", i+1, err)
		}
		vals[i], ts[i] = d.Value, d.T
	}
	return vals, ts, nil
}

func newQueryID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statementLimit is the statement's memory limit in bytes (0: none).
func statementLimit(env *exec.Env) int64 {
	if env.Memory == nil {
		return 0
	}
	return env.Memory.Limit()
}

// shuffleGroupsDefault is weft.shuffle_groups's default.
func shuffleGroupsDefault() string { return strconv.Itoa(cluster.ShuffleGroups) }

// broadcastRowsDefault is weft.broadcast_rows's default.
func broadcastRowsDefault() string { return strconv.Itoa(cluster.BroadcastRows) }
