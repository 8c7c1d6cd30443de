package driver_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/driver"
)

func Example() {
	db, err := sql.Open("weft", ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.Exec(`CREATE TABLE item (name text PRIMARY KEY, price numeric(6,2))`)
	db.Exec(`INSERT INTO item VALUES ($1, $2), ($3, $4)`, "tea", "3.5", "cake", 4.25)

	var name, price string
	db.QueryRow(`SELECT name, price FROM item WHERE price > $1 ORDER BY price LIMIT 1`, 1).Scan(&name, &price)
	fmt.Println(name, price)

	_, err = db.Exec(`INSERT INTO item VALUES ('tea', 1)`)
	var e *driver.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Message)
	}
	// Output:
	// tea 3.50
	// 23505 duplicate key value violates unique constraint "item_pkey"
}

func ExampleArrowConn() {
	ctx := context.Background()
	db, err := sql.Open("weft", ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	err = conn.Raw(func(c any) error {
		rr, err := c.(driver.ArrowConn).QueryArrow(ctx, `SELECT g::integer AS n FROM generate_series(1, $1) g`, 4)
		if err != nil {
			return err
		}
		defer rr.Release()
		var sum int32
		for rr.Next() {
			for _, v := range rr.Record().Column(0).(*array.Int32).Int32Values() {
				sum += v
			}
		}
		fmt.Println(rr.Schema().Field(0).Name, rr.Schema().Field(0).Type, sum)
		return rr.Err()
	})
	if err != nil {
		panic(err)
	}
	// Output: n int32 10
}
