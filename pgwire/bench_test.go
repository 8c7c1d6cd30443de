package pgwire

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchQueries measures queries per second over `conns` connections.
func benchQueries(b *testing.B, conns int, sql string, args ...any) {
	url := startServer(b)
	ctx := context.Background()
	setup, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	setup.Exec(ctx, "CREATE TABLE t (g bigint, v bigint)")
	setup.Exec(ctx, "INSERT INTO t SELECT i % 10, i FROM generate_series(1, 1000) i")
	setup.Close(ctx)
	cs := make([]*pgx.Conn, conns)
	for i := range cs {
		if cs[i], err = pgx.Connect(ctx, url); err != nil {
			b.Fatal(err)
		}
		defer cs[i].Close(ctx)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N/conns + 1
	for _, c := range cs {
		wg.Add(1)
		go func(c *pgx.Conn) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				rows, err := c.Query(ctx, sql, args...)
				if err != nil {
					b.Error(err)
					return
				}
				rows.Close()
			}
		}(c)
	}
	wg.Wait()
	b.ReportMetric(float64(per*conns)/time.Since(start).Seconds(), "queries/s")
}

func BenchmarkSelect1OneConn(b *testing.B)      { benchQueries(b, 1, "SELECT 1") }
func BenchmarkSelect1SixteenConns(b *testing.B) { benchQueries(b, 16, "SELECT 1") }
func BenchmarkAggregateOneConn(b *testing.B) {
	benchQueries(b, 1, "SELECT g, sum(v) FROM t WHERE v > $1 GROUP BY g", 100)
}
func BenchmarkAggregateSixteenConns(b *testing.B) {
	benchQueries(b, 16, "SELECT g, sum(v) FROM t WHERE v > $1 GROUP BY g", 100)
}
