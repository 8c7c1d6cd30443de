package pgwire

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestConcurrentClients runs many connections with mixed queries at once
// and checks every answer, then that no goroutine outlives the connections
// (the checked allocator in startServer covers memory).
func TestConcurrentClients(t *testing.T) {
	const clients, queries = 64, 201
	before := runtime.NumGoroutine()
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, "CREATE TABLE kv (k bigint, v text); CREATE TABLE log (client int, n int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Exec(ctx, "INSERT INTO kv SELECT g, 'v' || g FROM generate_series(1, 1000) g"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			for i := 0; i < queries; i++ {
				switch i % 3 {
				case 0:
					k := int64((c*queries+i)%1000 + 1)
					var v string
					if err := conn.QueryRow(ctx, "SELECT v FROM kv WHERE k = $1", k).Scan(&v); err != nil || v != fmt.Sprintf("v%d", k) {
						errs <- fmt.Errorf("point lookup %d: %q %v", k, v, err)
						return
					}
				case 1:
					var n, sum int64
					if err := conn.QueryRow(ctx, "SELECT count(*), sum(k) FROM kv WHERE k <= $1", int64(100)).Scan(&n, &sum); err != nil || n != 100 || sum != 5050 {
						errs <- fmt.Errorf("aggregate: %d %d %v", n, sum, err)
						return
					}
				case 2:
					if _, err := conn.Exec(ctx, "INSERT INTO log VALUES ($1, $2)", c, i); err != nil {
						errs <- fmt.Errorf("insert: %v", err)
						return
					}
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int64
	if err := setup.QueryRow(ctx, "SELECT count(*) FROM log").Scan(&n); err != nil || n != clients*queries/3 {
		t.Fatalf("log rows: %d %v", n, err)
	}
	setup.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before+5 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left (started with %d):\n%s", g, before, buf[:runtime.Stack(buf, true)])
	}
}
