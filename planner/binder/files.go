package binder

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/datafile"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/pgsource"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// fileFormats are the table functions that read files.
var fileFormats = map[string]string{
	"read_csv":     "csv",
	"read_parquet": "parquet",
	"read_arrow":   "arrow",
	"read_json":    "json",
}

// bindFileScan binds read_<format>('path or glob'): the files are found
// and their schema inferred now, so the plan has typed columns.
func (b *Binder) bindFileScan(format string, fc *pg.FuncCall) (logical.Plan, error) {
	if len(fc.Args) == 0 || fc.Args[0].GetAConst().GetSval() == nil {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s takes a text literal: a path or glob inside the files directory", funcName(fc.Funcname)).At(fc.Location)
	}
	if err := b.requireRole(catalog.RoleReadServerFiles, "read files with "+funcName(fc.Funcname)); err != nil {
		return nil, err.At(fc.Location)
	}
	opts, columns, err := csvOptions(format, fc)
	if err != nil {
		return nil, err
	}
	paths, err := datafile.Resolve(b.FilesDir, fc.Args[0].GetAConst().GetSval().Sval)
	if err != nil {
		return nil, sqlerr.Wrap(err).At(fc.Location)
	}
	if columns != nil {
		return b.typedCSVScan(paths, opts, columns)
	}
	src, err := datafile.Infer(format, paths, opts)
	if err != nil {
		return nil, err
	}
	scan := &logical.FileScan{Source: src}
	for i := range src.Names {
		scan.Cols = append(scan.Cols, b.newColumn(src.Names[i], src.Types[i]))
		scan.Ords = append(scan.Ords, i)
	}
	return scan, nil
}

// csvOptions reads read_csv's named options: header => bool,
// delimiter => 'c' (or delim, sep), nullstr => 'text', and columns =>
// 'name type, …' (returned apart: the columns and types to read).
func csvOptions(format string, fc *pg.FuncCall) (o datafile.CSVOptions, columns *pg.NamedArgExpr, err error) {
	for _, a := range fc.Args[1:] {
		na := a.GetNamedArgExpr()
		if na == nil || format != "csv" {
			return o, nil, sqlerr.New(sqlerr.UndefinedFunction, "%s takes one path; read_csv also takes named options (header => false, delimiter => ';', nullstr => 'NA', columns => 'name type, …')", funcName(fc.Funcname)).At(fc.Location)
		}
		c := na.Arg.GetAConst()
		bad := func() (datafile.CSVOptions, *pg.NamedArgExpr, error) {
			return o, nil, sqlerr.New(sqlerr.InvalidParameter, "read_csv option %s has an invalid value", na.Name).At(na.Location)
		}
		if c == nil {
			return bad()
		}
		switch strings.ToLower(na.Name) {
		case "header":
			v := c.GetBoolval()
			if v == nil {
				if sv := c.GetSval(); sv != nil && (strings.EqualFold(sv.Sval, "true") || strings.EqualFold(sv.Sval, "false")) {
					v = &pg.Boolean{Boolval: strings.EqualFold(sv.Sval, "true")}
				} else {
					return bad()
				}
			}
			o.NoHeader = !v.Boolval
		case "delimiter", "delim", "sep":
			sv := c.GetSval()
			if sv == nil || len([]rune(sv.Sval)) != 1 || strings.ContainsAny(sv.Sval, "\r\n\"") {
				return bad()
			}
			o.Delimiter = []rune(sv.Sval)[0]
		case "null", "nullstr":
			sv := c.GetSval()
			if sv == nil {
				return bad()
			}
			o.Null = sv.Sval
		case "columns":
			if c.GetSval() == nil {
				return bad()
			}
			columns = na
		default:
			return o, nil, sqlerr.New(sqlerr.UndefinedFunction, "read_csv has no option %q", na.Name).At(na.Location)
		}
	}
	return o, columns, nil
}

// typedCSVScan reads CSV files as the columns => 'name type, …' option
// says (a CREATE TABLE column list): each field is parsed as COPY parses
// it, to its column's type as an INSERT's value is cast (a value too long
// for varchar(n) is an error, char(n) is padded), so no types are guessed
// from a sample.
func (b *Binder) typedCSVScan(paths []string, opts datafile.CSVOptions, columns *pg.NamedArgExpr) (logical.Plan, error) {
	names, typs, err := b.columnList(columns.Arg.GetAConst().GetSval().Sval, columns.Location)
	if err != nil {
		return nil, err
	}
	src := &datafile.Source{Format: "csv", Paths: paths, Header: !opts.NoHeader, Comma: ',', Null: opts.Null,
		Names: names, Types: typs, Typed: true, Convert: convertText(typs)}
	if opts.Delimiter != 0 {
		src.Comma = opts.Delimiter
	}
	scan := &logical.FileScan{Source: src}
	for i, name := range names {
		scan.Cols, scan.Ords = append(scan.Cols, b.newColumn(name, typs[i])), append(scan.Ords, i)
	}
	return scan, nil
}

// convertText casts a field's text to column col's type as an INSERT's
// value is cast, and appends it.
func convertText(typs []types.T) func(col int, text []byte, b array.Builder, zone *time.Location) error {
	return func(col int, text []byte, b array.Builder, zone *time.Location) error {
		v, err := exec.CastDatumIn(string(text), types.TextT, typs[col], false, zone)
		if err != nil {
			return err
		}
		exec.AppendDatum(b, v)
		return nil
	}
}

// columnList parses 'name type, …' as the column list of a CREATE TABLE:
// names and types only.
func (b *Binder) columnList(spec string, loc int32) ([]string, []types.T, error) {
	bad := func(why string) error {
		return sqlerr.New(sqlerr.InvalidParameter, "read_csv columns must be a list of names and types (\"a int, b numeric(15,2)\"): %s", why).At(loc)
	}
	stmts, err := parser.Parse("CREATE TABLE read_csv_columns (" + spec + ")")
	if err != nil || len(stmts) != 1 {
		return nil, nil, bad("it does not parse")
	}
	create := stmts[0].Stmt.GetCreateStmt()
	if create == nil || len(create.TableElts) == 0 {
		return nil, nil, bad("it does not parse")
	}
	var names []string
	var typs []types.T
	for _, el := range create.TableElts {
		cd := el.GetColumnDef()
		if cd == nil || len(cd.Constraints) > 0 || cd.TypeName == nil {
			return nil, nil, bad("only names and types may be given")
		}
		t, _, err := b.ResolveType(cd.TypeName)
		if err != nil {
			e := *sqlerr.Wrap(err)
			e.Position = 0 // a place in the option's text, not in the query
			return nil, nil, e.At(loc)
		}
		names, typs = append(names, cd.Colname), append(typs, t)
	}
	return names, typs, nil
}

// bindRemoteScan binds postgres_scan('conn', 'schema.table') and
// postgres_query('conn', 'SELECT …'): the remote server describes the
// columns now, so the plan has typed columns.
func (b *Binder) bindRemoteScan(name string, fc *pg.FuncCall) (logical.Plan, error) {
	var args []string
	for _, a := range fc.Args {
		if a.GetAConst().GetSval() == nil {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s takes two text literals: a connection string and a %s", name,
				map[bool]string{true: "table name", false: "query"}[name == "postgres_scan"]).At(fc.Location)
		}
		args = append(args, a.GetAConst().GetSval().Sval)
	}
	if len(args) != 2 {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s takes two arguments", name).At(fc.Location)
	}
	if err := b.requireRole(catalog.RoleRemoteSources, "connect to remote servers with "+name); err != nil {
		return nil, err.At(fc.Location)
	}
	var src *pgsource.Source
	var err error
	if name == "postgres_scan" {
		src, err = pgsource.DescribeTable(b.Ctx, args[0], args[1], b.Cat.Partitions())
	} else {
		src, err = pgsource.DescribeQuery(b.Ctx, args[0], args[1])
	}
	if err != nil {
		return nil, sqlerr.Wrap(err).At(fc.Location)
	}
	scan := &logical.RemoteScan{Source: src}
	for i := range src.Names {
		scan.Cols = append(scan.Cols, b.newColumn(src.Names[i], src.Types[i]))
		scan.Ords = append(scan.Ords, i)
	}
	return scan, nil
}
