// Weft through database/sql: open a data directory, load rows in a
// transaction with a prepared statement, query them back as rows and as
// Arrow batches.
//
//	go run ./examples/sqldriver [-data DIR]
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/driver"
)

func main() {
	data := flag.String("data", "", "data directory (default: a new temporary one)")
	flag.Parse()
	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "weft-example-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := run(context.Background(), dir); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir string) error {
	db, err := sql.Open("weft", dir+"?partitions=2")
	if err != nil {
		return err
	}
	defer db.Close()

	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS city (name text PRIMARY KEY, country text, population bigint)`); err != nil {
		return err
	}
	if err := load(ctx, db); err != nil {
		return err
	}

	rows, err := db.QueryContext(ctx, `SELECT country, sum(population), count(*) FROM city WHERE population > $1 GROUP BY country ORDER BY 2 DESC`, 1_000_000)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var country string
		var people, cities int64
		if err := rows.Scan(&country, &people, &cities); err != nil {
			return err
		}
		fmt.Printf("%-8s %10d people in %d cities\n", country, people, cities)
	}
	if err := rows.Err(); err != nil {
		return err
	}

	// a duplicate key is an error with PostgreSQL's SQLSTATE
	_, err = db.ExecContext(ctx, `INSERT INTO city VALUES ($1, $2, $3)`, "Lyon", "FR", 1)
	var e *driver.Error
	if errors.As(err, &e) {
		fmt.Printf("duplicate: %s (SQLSTATE %s)\n", e.Message, e.Code)
	}

	return arrowTotals(ctx, db)
}

// load inserts the cities in one transaction with one prepared statement;
// a second run finds them there already.
func load(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	ins, err := tx.PrepareContext(ctx, `INSERT INTO city VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, c := range []struct {
		name, country string
		population    int64
	}{
		{"Lyon", "FR", 1_400_000}, {"Paris", "FR", 11_000_000}, {"Nantes", "FR", 640_000},
		{"Porto", "PT", 1_300_000}, {"Lisbon", "PT", 2_900_000}, {"Kyoto", "JP", 1_460_000},
	} {
		if _, err := ins.ExecContext(ctx, c.name, c.country, c.population); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// arrowTotals reads a result as Arrow batches through the driver's
// escape hatch.
func arrowTotals(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(c any) error {
		rr, err := c.(driver.ArrowConn).QueryArrow(ctx, `SELECT population FROM city`)
		if err != nil {
			return err
		}
		defer rr.Release()
		var total int64
		for rr.Next() {
			for _, v := range rr.Record().Column(0).(*array.Int64).Int64Values() {
				total += v
			}
		}
		fmt.Printf("arrow: %d people in %s\n", total, rr.Schema().Field(0).Type)
		return rr.Err()
	})
}
