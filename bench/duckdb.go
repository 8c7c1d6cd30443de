package main

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/duckdb/duckdb-go/v2"
)

// openDuckDB creates the same table in an in-memory DuckDB through its
// appender, row by row from the same generator.
func openDuckDB(ctx context.Context, rows int) (*sql.DB, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id BIGINT, g BIGINT, v BIGINT, s VARCHAR)"); err != nil {
		db.Close()
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	defer conn.Close()
	err = conn.Raw(func(raw any) error {
		app, err := duckdb.NewAppenderFromConn(raw.(driver.Conn), "", "t")
		if err != nil {
			return err
		}
		for i := int64(0); i < int64(rows); i++ {
			id, g, v, s := rowValues(i)
			if err := app.AppendRow(id, g, v, s); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
