// Command twosession runs a script of two (or more) sessions against a
// PostgreSQL-protocol server and prints what each statement answers, and
// whether a statement started in the background waits. It makes the
// expected transcripts of engine/testdata/twosession from PostgreSQL 15,
// which engine's TestTwoSessionScripts replays on Weft's own sessions:
//
//	psql -c 'DROP DATABASE IF EXISTS ts' -c 'CREATE DATABASE ts'
//	twosession 'host=/tmp/pg port=5499 user=postgres dbname=ts' X.txt > X.pg
//
// A script's lines: "N: SQL" runs SQL on session N; "N&: SQL" starts it
// in the background and prints "-> waits" when it has not finished after
// half a second (else its answer); "N<" prints that statement's answer
// once it ends; "# …" is copied; blank lines are skipped. An answer is the
// command tag, then the rows in brackets ("a|b; c|d"), or "ERROR
// SQLSTATE: message".
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func run(c *pgx.Conn, sql string) string {
	rows, err := c.Query(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return errText(err)
	}
	var out []string
	for rows.Next() {
		vals, _ := rows.Values()
		var f []string
		for _, v := range vals {
			if v == nil {
				f = append(f, "NULL")
			} else {
				f = append(f, fmt.Sprint(v))
			}
		}
		out = append(out, strings.Join(f, "|"))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return errText(err)
	}
	tag := rows.CommandTag().String()
	if len(out) > 0 {
		return tag + " [" + strings.Join(out, "; ") + "]"
	}
	return tag
}

func errText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return "ERROR " + pe.Code + ": " + pe.Message
	}
	return "ERROR " + err.Error()
}

func main() {
	dsn := os.Args[1]
	f, err := os.Open(os.Args[2])
	if err != nil {
		panic(err)
	}
	conns := map[string]*pgx.Conn{}
	pending := map[string]chan string{}
	conn := func(n string) *pgx.Conn {
		if c, ok := conns[n]; ok {
			return c
		}
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			panic(err)
		}
		conns[n] = c
		return c
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			fmt.Println(line)
			continue
		}
		if strings.HasSuffix(line, "<") && !strings.Contains(line, ":") {
			n := strings.TrimSuffix(line, "<")
			fmt.Printf("%s< %s\n", n, <-pending[n])
			continue
		}
		i := strings.Index(line, ":")
		who, sql := line[:i], strings.TrimSpace(line[i+1:])
		if strings.HasSuffix(who, "&") {
			n := strings.TrimSuffix(who, "&")
			c := conn(n)
			ch := make(chan string, 1)
			go func() { ch <- run(c, sql) }()
			select {
			case a := <-ch:
				fmt.Printf("%s& %s -> %s\n", n, sql, a)
				ch <- a
			case <-time.After(500 * time.Millisecond):
				fmt.Printf("%s& %s -> waits\n", n, sql)
			}
			pending[n] = ch
			continue
		}
		fmt.Printf("%s: %s -> %s\n", who, sql, run(conn(who), sql))
	}
}
