package binder

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/datafile"
	"github.com/weftdb/weft/pgsource"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
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
	opts, err := csvOptions(format, fc)
	if err != nil {
		return nil, err
	}
	paths, err := datafile.Resolve(b.FilesDir, fc.Args[0].GetAConst().GetSval().Sval)
	if err != nil {
		return nil, sqlerr.Wrap(err).At(fc.Location)
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
// delimiter => 'c' (or delim, sep), nullstr => 'text'.
func csvOptions(format string, fc *pg.FuncCall) (datafile.CSVOptions, error) {
	var o datafile.CSVOptions
	for _, a := range fc.Args[1:] {
		na := a.GetNamedArgExpr()
		if na == nil || format != "csv" {
			return o, sqlerr.New(sqlerr.UndefinedFunction, "%s takes one path; read_csv also takes named options (header => false, delimiter => ';', nullstr => 'NA')", funcName(fc.Funcname)).At(fc.Location)
		}
		c := na.Arg.GetAConst()
		bad := func() (datafile.CSVOptions, error) {
			return o, sqlerr.New(sqlerr.InvalidParameter, "read_csv option %s has an invalid value", na.Name).At(na.Location)
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
		default:
			return o, sqlerr.New(sqlerr.UndefinedFunction, "read_csv has no option %q", na.Name).At(na.Location)
		}
	}
	return o, nil
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
