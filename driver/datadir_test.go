package driver_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/driver"
)

func openWeft(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("weft", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	return db
}

// TestDataDirectoryShared: two sql.Open of one directory share its
// database (a second weft.Open of it would fail), options must agree,
// and the data is there again after the last one closes and it reopens.
func TestDataDirectoryShared(t *testing.T) {
	dir := t.TempDir()
	first := openWeft(t, dir+"?partitions=2&batch_size=512")
	mustExec(t, first, "CREATE TABLE kept (id integer, name text)")
	mustExec(t, first, "INSERT INTO kept SELECT g, 'n' || g FROM generate_series(1, 1000) g")

	second := openWeft(t, "file:"+dir+"/.?batch_size=512&partitions=2")
	if got := queryInt64(t, second, "SELECT count(*) FROM kept"); got != 1000 {
		t.Errorf("second sees %d rows", got)
	}
	mustExec(t, second, "INSERT INTO kept VALUES ($1, $2)", 1001, "last")
	if got := queryInt64(t, first, "SELECT max(id) FROM kept"); got != 1001 {
		t.Errorf("first sees max %d", got)
	}

	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	third := openWeft(t, link+"?partitions=2&batch_size=512")
	if got := queryInt64(t, third, "SELECT count(*) FROM kept"); got != 1001 {
		t.Errorf("through a symbolic link: %d rows", got)
	}
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}

	if _, err := weft.Open(weft.Options{DataDir: dir}); driver.SQLState(err) != "55006" {
		t.Errorf("a second weft.Open of the directory: %v, want 55006", err)
	}
	if _, err := sql.Open("weft", dir+"?partitions=3&batch_size=512"); driver.SQLState(err) != "55006" {
		t.Errorf("other options for an open directory: %v, want 55006", err)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if got := queryInt64(t, second, "SELECT count(*) FROM kept"); got != 1001 {
		t.Errorf("after the first closed, second sees %d rows", got)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}

	again := openWeft(t, dir)
	defer again.Close()
	if got := queryInt64(t, again, "SELECT sum(id) FROM kept"); got != 1001*1002/2 {
		t.Errorf("reopened: sum(id) = %d, want %d", got, 1001*1002/2)
	}
	var name string
	if err := again.QueryRow("SELECT name FROM kept WHERE id = $1", 1001).Scan(&name); err != nil || name != "last" {
		t.Errorf("reopened: name %q (%v)", name, err)
	}
}

// TestDataDirectoryOpenCloseRace opens, uses and closes one directory
// from many goroutines at once: every open must find the directory
// either shared or free, never locked by a closing sibling.
func TestDataDirectoryOpenCloseRace(t *testing.T) {
	dir := t.TempDir()
	setup := openWeft(t, dir)
	mustExec(t, setup, "CREATE TABLE r (x integer)")
	if err := setup.Close(); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				db, err := sql.Open("weft", dir)
				if err != nil {
					errs <- fmt.Errorf("worker %d round %d: open: %w", w, i, err)
					continue
				}
				if _, err := db.Exec("INSERT INTO r VALUES ($1)", w*rounds+i); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, i, err)
				}
				if err := db.Close(); err != nil {
					errs <- fmt.Errorf("worker %d round %d: close: %w", w, i, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	db := openWeft(t, dir)
	defer db.Close()
	if got := queryInt64(t, db, "SELECT count(DISTINCT x) FROM r"); got != workers*rounds {
		t.Errorf("%d distinct rows, want %d", got, workers*rounds)
	}
}

// TestMemoryDatabasesApart: each :memory: DSN is a database of its own,
// shared by the connections of its pool.
func TestMemoryDatabasesApart(t *testing.T) {
	a := openWeft(t, ":memory:")
	defer a.Close()
	b := openWeft(t, ":memory:")
	defer b.Close()
	a.SetMaxOpenConns(3)
	mustExec(t, a, "CREATE TABLE only_a (x integer)")
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := a.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		if _, err := c.ExecContext(t.Context(), "INSERT INTO only_a VALUES (1)"); err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
	}
	if _, err := b.Exec("SELECT * FROM only_a"); driver.SQLState(err) != "42P01" {
		t.Errorf("the other :memory: database: %v, want 42P01", err)
	}
}

// TestDriverOpen: a connection opened without a connector (Driver.Open)
// holds its own share of the directory and gives it back on Close.
func TestDriverOpen(t *testing.T) {
	dir := t.TempDir()
	var d driver.Driver
	c, err := d.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := weft.Open(weft.Options{DataDir: dir}); driver.SQLState(err) != "55006" {
		t.Errorf("directory not held while the connection is open: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := weft.Open(weft.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("directory still held after Close: %v", err)
	}
	db.Close()
}
