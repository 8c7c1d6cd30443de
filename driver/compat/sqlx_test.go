package compat

import (
	"database/sql"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/weftdb/weft/driver"
)

func init() {
	// weft takes PostgreSQL's $1 placeholders: sqlx rebinds its named and
	// In queries to them
	sqlx.BindDriver(driver.DriverName, sqlx.DOLLAR)
}

type person struct {
	ID      int64          `db:"id"`
	Name    string         `db:"name"`
	Email   sql.NullString `db:"email"`
	Born    time.Time      `db:"born"`
	Balance string         `db:"balance"` // numeric comes as its text
}

// TestSqlx runs sqlx's struct scanning, named statements, In expansion and
// transactions over the weft driver.
func TestSqlx(t *testing.T) {
	db, err := sqlx.Open("weft", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.MustExec(`CREATE TABLE person (id bigint PRIMARY KEY, name text NOT NULL, email text, born date, balance numeric(10,2))`)

	people := []person{
		{ID: 1, Name: "Ada", Email: sql.NullString{String: "ada@example.com", Valid: true}, Born: date(1815, 12, 10), Balance: "10.50"},
		{ID: 2, Name: "Grace", Born: date(1906, 12, 9), Balance: "0.00"},
		{ID: 3, Name: "Edsger", Email: sql.NullString{String: "ewd@example.com", Valid: true}, Born: date(1930, 5, 11), Balance: "-3.25"},
	}
	for _, p := range people {
		if _, err := db.NamedExec(`INSERT INTO person VALUES (:id, :name, :email, :born, :balance)`, p); err != nil {
			t.Fatal(err)
		}
	}

	var got []person
	if err := db.Select(&got, `SELECT * FROM person ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(people) {
		t.Fatalf("%d people", len(got))
	}
	for i := range people {
		if got[i].ID != people[i].ID || got[i].Name != people[i].Name || got[i].Email != people[i].Email ||
			!got[i].Born.Equal(people[i].Born) || got[i].Balance != people[i].Balance {
			t.Errorf("person %d: %+v, want %+v", i, got[i], people[i])
		}
	}

	var one person
	if err := db.Get(&one, `SELECT * FROM person WHERE name = $1`, "Grace"); err != nil {
		t.Fatal(err)
	}
	if one.ID != 2 || one.Email.Valid {
		t.Errorf("Get: %+v", one)
	}

	query, args, err := sqlx.In(`SELECT name FROM person WHERE id IN (?) ORDER BY name`, []int64{1, 3})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := db.Select(&names, db.Rebind(query), args...); err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "Ada" || names[1] != "Edsger" {
		t.Errorf("In: %v", names)
	}

	tx := db.MustBegin()
	tx.MustExec(`UPDATE person SET balance = balance + $1 WHERE id = $2`, "1.25", 2)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx = db.MustBegin()
	tx.MustExec(`UPDATE person SET balance = balance + $1 WHERE id = $2`, "2.50", 2)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var balance string
	if err := db.Get(&balance, `SELECT balance FROM person WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if balance != "2.50" {
		t.Errorf("balance %s after a rolled-back +1.25 and a committed +2.50", balance)
	}

	rows, err := db.Queryx(`SELECT id, name FROM person ORDER BY id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var maps []map[string]any
	for rows.Next() {
		m := map[string]any{}
		if err := rows.MapScan(m); err != nil {
			t.Fatal(err)
		}
		maps = append(maps, m)
	}
	if len(maps) != 3 || maps[0]["id"] != int64(3) || maps[0]["name"] != "Edsger" {
		t.Errorf("MapScan: %v", maps)
	}
}

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
