package binder

import (
	pg "github.com/pganalyze/pg_query_go/v6"
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
	if len(fc.Args) != 1 || fc.Args[0].GetAConst().GetSval() == nil {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s takes one text literal: a path or glob inside the files directory", funcName(fc.Funcname)).At(fc.Location)
	}
	paths, err := datafile.Resolve(b.FilesDir, fc.Args[0].GetAConst().GetSval().Sval)
	if err != nil {
		return nil, sqlerr.Wrap(err).At(fc.Location)
	}
	src, err := datafile.Infer(format, paths)
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
