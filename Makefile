# Weft build and test entry points. `make test` is what CI runs (.ci/run).
GO        ?= go
WEFT      := bin/weft
SHARED    ?= ../shared
SQLITE_SLT := $(wildcard $(SHARED)/slt/sqlite/select*.test)
OWN_SLT   := $(shell find testdata/slt -name '*.slt' | sort)

.PHONY: all build run test vet unit slt slt-own slt-sqlite fuzz bench bench-cluster slt-cluster bench-tpch bench-pgbench difftest wasm proto tools fresh-check clean

WASM_DIR  := testdata/udf/wasm
RUSTC_WASM := /usr/bin/rustc --target wasm32-unknown-unknown --crate-type cdylib -O -C strip=symbols
ASC       := sdk/assemblyscript/node_modules/.bin/asc
CLANG_WASM := clang --target=wasm32 -O2 -msimd128 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--export-dynamic

all: build

build:
	$(GO) build -o $(WEFT) ./cmd/weft

# Interactive SQL prompt on the embedded default.
run: build
	./$(WEFT)

test: vet unit slt

vet:
	$(GO) vet ./...
	cd driver/compat && $(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed on:"; gofmt -l .; exit 1)

# driver/compat is a module of its own (sqlx and GORM over the
# database/sql driver), so ./... does not reach it
unit:
	$(GO) test -count=1 ./...
	cd driver/compat && $(GO) test -count=1 ./...

slt: slt-own slt-sqlite

slt-own: build
	./$(WEFT) slt -udf-dir testdata/udf/wasm $(OWN_SLT)

# The own slt files with every query's table scans on worker processes
# (docs/cluster.md): WORKERS of them, started for each file.
WORKERS ?= 2
# SLT_SETUP runs first in each session, e.g. SLT_SETUP='SET weft.shuffle_groups = 0'
# (every aggregation shuffled) or 'SET weft.broadcast_rows = 0' (every join).
slt-cluster: build
	./$(WEFT) slt -workers $(WORKERS) -partitions 4 -udf-dir testdata/udf/wasm -setup "$(SLT_SETUP)" $(OWN_SLT)

# SQLite's select1-5 corpus, run with SQLite's conventions (NULLs sort first,
# integer results printed as SQLite prints them). Skipped when ../shared is absent.
slt-sqlite: build
ifneq ($(SQLITE_SLT),)
	./$(WEFT) slt -sqlite $(SQLITE_SLT)
else
	@echo "no $(SHARED)/slt/sqlite: SQLite corpus not run"
endif

# The differential tester against a real PostgreSQL 15 (started by the
# tester): random tables and queries, each mismatch shrunk and written as a
# .slt file under testdata/slt/difftest/. make test runs a fixed seed range
# of it (difftest.TestDifferential); this runs new seeds for DURATION.
DURATION ?= 10m
difftest:
	$(GO) run ./cmd/difftest -duration $(DURATION) -out testdata/slt/difftest $(DIFFTEST_ARGS)

# One minute of fuzzing over parse -> bind -> plan.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzPlan -fuzztime 60s ./engine
	$(GO) test -run '^$$' -fuzz FuzzMessages -fuzztime 60s ./pgwire

bench:
	cd bench && $(GO) run . $(BENCH_ARGS)

# A GROUP BY over three million rows with 0 and 2 worker processes
# (alternating, -count times), and Flight's throughput over loopback.
bench-cluster:
	$(GO) test -run '^$$' -bench 'ClusterGroupBy' -benchtime 5x -count 3 ./engine
	$(GO) test -run '^$$' -bench 'ClusterShuffledGroupBy' -benchtime 3x ./engine
	$(GO) test -run '^$$' -bench 'ClusterSpilledShuffle' -benchtime 3x ./engine
	$(GO) test -run '^$$' -bench 'ClusterParquetSplit' -benchtime 5x ./engine
	$(GO) test -run '^$$' -bench 'FlightThroughput' -benchtime 100x -count 3 ./cluster
	$(GO) test -run '^$$' -bench 'CachedScan' -benchtime 20x -count 2 ./engine

# TPC-H against DuckDB: SF=1 or SF=0.1; the CSV files are generated into
# bench/tpch-data/sf$(SF) unless TPCH_DIR names a directory that has them
# (go run ./cmd/tpchgen -sf 1 -out DIR). BENCH_ARGS adds flags, e.g.
# "-runs 5 -timeout 300s -cpuprofile /tmp/prof -only q01,q06".
SF ?= 0.1
TPCH_DIR ?=
bench-tpch:
	cd bench && $(GO) run . -tpch -sf $(SF) $(if $(TPCH_DIR),-tpch-dir $(abspath $(TPCH_DIR))) $(BENCH_ARGS)

# pgbench (TPC-B with retries, and select-only) against a weft server and a
# PostgreSQL 15 started by the bench, in one sitting: TPS side by side.
PGBENCH_SCALE ?= 10
PGBENCH_CLIENTS ?= 8
PGBENCH_TIME ?= 60s
bench-pgbench: build
	cd bench && $(GO) run . -pgbench-server $(abspath $(WEFT)) -pgbench-scale $(PGBENCH_SCALE) -pgbench-clients $(PGBENCH_CLIENTS) -pgbench-time $(PGBENCH_TIME)

# Rebuild the committed wasm fixtures and examples (needs wabt and clang;
# `make tools` installs them on Debian). udf's TestFixturesMatchSources
# checks the committed files against a fresh build.
wasm:
	for f in testdata/udf/wat/*.wat; do wat2wasm $$f -o $(WASM_DIR)/$$(basename $$f .wat).wasm; done
	$(CLANG_WASM) -o $(WASM_DIR)/c_strings.wasm examples/c/strings.c
	$(CLANG_WASM) -o $(WASM_DIR)/c_aggregates.wasm examples/c/aggregates.c
	$(CLANG_WASM) -o $(WASM_DIR)/c_tables.wasm examples/c/tables.c
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o $(WASM_DIR)/go_words.wasm ./examples/go
	$(RUSTC_WASM) -o $(WASM_DIR)/rust_text.wasm examples/rust/lib.rs
	cd sdk/assemblyscript && npm ci --silent
	$(ASC) examples/assemblyscript/example.ts -O3 --runtime incremental -o $(WASM_DIR)/as_example.wasm

# Regenerate the cluster's protobuf messages (cluster/clusterpb); the
# generated .pb.go is committed, so building and testing never need protoc.
# Needs protoc (apt-get install protobuf-compiler) and
# go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12.
proto:
	cd cluster/clusterpb && PATH="$$PATH:$$($(GO) env GOPATH)/bin" protoc --go_out=. --go_opt=paths=source_relative cluster.proto

# Installs only the tools that are missing (each checked by running it), so
# it never asks apt for a package that conflicts with the machine's own
# (NodeSource's nodejs bundles npm); a second run is a no-op.
tools:
	sh scripts/tools.sh

# Clones this repository into a temporary directory and runs the README's
# two commands there (FRESH_PURGE=1 first removes the tool packages).
fresh-check:
	sh scripts/fresh-check.sh

clean:
	rm -rf bin
