package engine

import (
	"math"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// newSequence builds a sequence from CREATE SEQUENCE (or identity)
// options, for values of type t.
func newSequence(schema, name string, t types.T, opts []*pg.Node) (*catalog.Sequence, error) {
	q := &catalog.Sequence{Schema: schema, Name: name, Increment: 1}
	var min, max, start *int64
	maxOf := map[types.Kind]int64{types.Int2: math.MaxInt16, types.Int4: math.MaxInt32, types.Int8: math.MaxInt64}
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		val := func() (int64, error) {
			if d.Arg == nil {
				return 0, sqlerr.New(sqlerr.SyntaxError, "option \"%s\" needs a value", d.Defname)
			}
			if iv := d.Arg.GetInteger(); iv != nil {
				return int64(iv.Ival), nil
			}
			if f := d.Arg.GetFloat(); f != nil {
				var v int64
				for _, c := range strings.TrimPrefix(f.Fval, "-") {
					v = v*10 + int64(c-'0')
				}
				if strings.HasPrefix(f.Fval, "-") {
					v = -v
				}
				return v, nil
			}
			return 0, sqlerr.New(sqlerr.SyntaxError, "option \"%s\" needs a number", d.Defname)
		}
		switch d.Defname {
		case "increment":
			v, err := val()
			if err != nil {
				return nil, err
			}
			if v == 0 {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "INCREMENT must not be zero")
			}
			q.Increment = v
		case "start":
			v, err := val()
			if err != nil {
				return nil, err
			}
			start = &v
		case "minvalue", "maxvalue":
			if d.Arg == nil {
				continue // NO MINVALUE / NO MAXVALUE
			}
			v, err := val()
			if err != nil {
				return nil, err
			}
			if d.Defname == "minvalue" {
				min = &v
			} else {
				max = &v
			}
		case "cycle":
			q.Cycle = d.Arg == nil || d.Arg.GetBoolean() == nil || d.Arg.GetBoolean().Boolval
		case "as":
			tn := d.Arg.GetTypeName()
			if tn == nil {
				return nil, sqlerr.New(sqlerr.SyntaxError, "AS needs a type")
			}
			at, ok := types.FromName(strings.Join(namesOf(tn.Names), "."), nil)
			if !ok || !at.IsInteger() {
				return nil, sqlerr.New(sqlerr.InvalidParameter, "sequence type must be smallint, integer, or bigint")
			}
			t = at
		case "cache", "owned_by", "sequence_name":
			// one value at a time; ownership comes from serial/identity
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "sequence option \"%s\" is not supported yet", d.Defname)
		}
	}
	q.Min, q.Max = 1, maxOf[t.Kind]
	if q.Increment < 0 {
		q.Min, q.Max = -maxOf[t.Kind]-1, -1
	}
	if min != nil {
		q.Min = *min
	}
	if max != nil {
		q.Max = *max
	}
	q.Start = q.Min
	if q.Increment < 0 {
		q.Start = q.Max
	}
	if start != nil {
		q.Start = *start
	}
	if q.Start < q.Min || q.Start > q.Max {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "START value (%d) cannot be outside MINVALUE (%d) and MAXVALUE (%d)", q.Start, q.Min, q.Max)
	}
	q.Logged = q.Start
	return q, nil
}

// createSequence runs CREATE SEQUENCE.
func (s *Session) createSequence(st *pg.CreateSeqStmt) (*Result, error) {
	schema, err := s.targetSchema(st.Sequence.Schemaname)
	if err != nil {
		return nil, err
	}
	q, err := newSequence(schema, st.Sequence.Relname, types.Int8T, st.Options)
	if err != nil {
		return nil, err
	}
	var created bool
	if err := s.creating(func() (uint32, error) {
		var err error
		if created, err = s.db.cat.CreateSequence(q, false, st.IfNotExists); err != nil || !created {
			return 0, err
		}
		return q.OID, nil
	}); err != nil {
		return nil, err
	}
	res := &Result{Tag: "CREATE SEQUENCE"}
	if created {
		if err := s.claimName(q.Schema, q.Name); err != nil {
			s.db.cat.DropSequence(q.Schema, q.Name)
			return nil, err
		}
		s.own(q.OID, catalog.KindSequence)
		s.undoCreate(func() { s.db.cat.DropSequence(q.Schema, q.Name) })
	}
	if !created {
		res.Notices = []string{"relation \"" + q.Name + "\" already exists, skipping"}
	}
	return res, nil
}

// dropSequence runs DROP SEQUENCE for one name.
func (s *Session) dropSequence(schema, name string, missingOK bool) error {
	q, ok := s.db.cat.LookupSequence(schema, name, s.searchPath)
	if !ok {
		if missingOK {
			return nil
		}
		return sqlerr.New(sqlerr.UndefinedTable, "sequence \"%s\" does not exist", name)
	}
	if err := s.requireOwner(q.OID, catalog.KindSequence, q.Name); err != nil {
		return err
	}
	if q.OwnedBy != "" {
		for _, sc := range s.db.cat.Schemas() {
			if t := sc.Tables[strings.SplitN(q.OwnedBy, ".", 2)[0]]; t != nil && sc.Name == q.Schema {
				return sqlerr.New(sqlerr.DependentObjects, "cannot drop sequence %s because other objects depend on it", q.Name).
					WithDetail("default value for column " + strings.SplitN(q.OwnedBy, ".", 2)[1] + " of table " + t.Name + " depends on sequence " + q.Name)
			}
		}
	}
	s.db.cat.DropSequence(q.Schema, q.Name)
	return nil
}

// serialTypes are the pseudo-types that make a column with its own
// sequence, and the integer type each stores.
var serialTypes = map[string]types.T{
	"serial": types.Int4T, "serial4": types.Int4T, "bigserial": types.Int8T, "serial8": types.Int8T,
	"smallserial": types.Int2T, "serial2": types.Int2T,
}

// ownedSequence makes the sequence of a serial or identity column and
// gives the column its default.
func (s *Session) ownedSequence(t *catalog.Table, col int, opts []*pg.Node) error {
	c := &t.Columns[col]
	name := t.Name + "_" + c.Name + "_seq"
	for n := 1; ; n++ {
		if _, taken := s.db.cat.LookupSequence(t.Schema, name, nil); !taken {
			if _, _, rel := s.db.cat.Lookup(t.Schema, name, nil); !rel {
				break
			}
		}
		name = t.Name + "_" + c.Name + "_seq" + itoa(int64(n))
	}
	q, err := newSequence(t.Schema, name, c.Type, opts)
	if err != nil {
		return err
	}
	q.OwnedBy = t.Name + "." + c.Name
	if err := s.creating(func() (uint32, error) {
		_, err := s.db.cat.CreateSequence(q, false, false)
		return q.OID, err
	}); err != nil {
		return err
	}
	if err := s.claimName(q.Schema, q.Name); err != nil {
		s.db.cat.DropSequence(q.Schema, q.Name)
		return err
	}
	// the table's owner owns its column's sequence
	owner := s.db.cat.Privileges(t.OID, catalog.KindTable).Owner
	s.db.cat.SetOwner(q.OID, catalog.KindSequence, owner)
	s.db.cat.ApplyDefaultPrivileges(q.OID, catalog.KindSequence, owner, q.Schema)
	ref := name
	if t.Schema != "public" {
		ref = t.Schema + "." + name
	}
	c.Default = "nextval('" + ref + "'::regclass)"
	c.NotNull = true
	return nil
}

// dropOwnedSequences drops the sequences of a table's serial and
// identity columns.
func (s *Session) dropOwnedSequences(t *catalog.Table) {
	for _, q := range s.db.cat.Sequences() {
		if q.Schema == t.Schema && strings.HasPrefix(q.OwnedBy, t.Name+".") {
			s.db.cat.DropSequence(q.Schema, q.Name)
		}
	}
}

// alterSequence runs ALTER SEQUENCE … [INCREMENT n] [MINVALUE/MAXVALUE n]
// [START n] [RESTART [WITH n]] [[NO] CYCLE].
func (s *Session) alterSequence(st *pg.AlterSeqStmt) (*Result, error) {
	q, ok := s.db.cat.LookupSequence(st.Sequence.Schemaname, st.Sequence.Relname, s.searchPath)
	if !ok {
		if st.MissingOk {
			return &Result{Tag: "ALTER SEQUENCE", Notices: []string{"relation \"" + st.Sequence.Relname + "\" does not exist, skipping"}}, nil
		}
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", st.Sequence.Relname).At(st.Sequence.Location)
	}
	if err := s.requireOwner(q.OID, catalog.KindSequence, q.Name); err != nil {
		return nil, err
	}
	var restart *int64
	restartAtStart := false
	var rest []*pg.Node
	for _, o := range st.Options {
		d := o.GetDefElem()
		if d == nil || d.Defname != "restart" {
			rest = append(rest, o)
			continue
		}
		if iv := d.Arg.GetInteger(); iv != nil {
			v := int64(iv.Ival)
			restart = &v
		} else {
			restartAtStart = true // RESTART alone: from the (new) START
		}
	}
	// the new definition: the old one with the given options over it
	def := q.Stored()
	opts := []*pg.Node{
		defElem("increment", def.Increment), defElem("minvalue", def.Min), defElem("maxvalue", def.Max), defElem("start", def.Start),
	}
	next, err := newSequence(q.Schema, q.Name, types.Int8T, append(opts, rest...))
	if err != nil {
		return nil, err
	}
	if restartAtStart {
		restart = &next.Start
	}
	if err := q.Redefine(next, def.Cycle && !hasOption(rest, "cycle") || next.Cycle, restart); err != nil {
		return nil, err
	}
	return &Result{Tag: "ALTER SEQUENCE"}, nil
}

// defElem is an option with a bigint value (written as the grammar writes
// numbers too wide for an integer node).
func defElem(name string, v int64) *pg.Node {
	return &pg.Node{Node: &pg.Node_DefElem{DefElem: &pg.DefElem{Defname: name,
		Arg: &pg.Node{Node: &pg.Node_Float{Float: &pg.Float{Fval: strconv.FormatInt(v, 10)}}}}}}
}

func hasOption(opts []*pg.Node, name string) bool {
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil && d.Defname == name {
			return true
		}
	}
	return false
}
