#!/bin/sh
# Installs what `make test` drives for real: the wasm toolchains that rebuild
# the committed fixtures (wabt, clang + lld, Debian's rustc with its wasm32
# std, AssemblyScript through npm), tmux for the shell test, a PostgreSQL 15
# server for the source connector, and the real clients (psql, psycopg2,
# node-postgres, pgjdbc on a JDK) and the tools applications use over
# them (SQLAlchemy, pandas, Alembic, Django, pgcli).
#
# Each tool is checked by running it; only the packages of missing tools are
# asked of apt, so a package that conflicts with what the machine already
# has (NodeSource's nodejs bundles npm and Conflicts: npm) is never
# requested, and a second run installs nothing. apt-get update runs only
# when an install fails without it (a machine whose lists are stale or empty).
set -eu
cd "$(dirname "$0")/.."

missing=""
need() { # need PACKAGE: add it to the install list once
	case " $missing " in *" $1 "*) ;; *) missing="$missing $1" ;; esac
}
works() { # works CMD...: true when CMD runs and exits 0
	"$@" >/dev/null 2>&1
}

works wat2wasm --version || need wabt
works clang --version || need clang
# clang --target=wasm32 links with wasm-ld
works wasm-ld --version || need lld
# Debian's rustc (not a rustup one on PATH): the committed rust fixture was
# built by it, and its wasm32 std comes from libstd-rust-dev-wasm32
works /usr/bin/rustc --version || need rustc
ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib >/dev/null 2>&1 || need libstd-rust-dev-wasm32
works node --version || need nodejs
# NodeSource's nodejs ships npm inside it; Debian's does not
works npm --version || need npm
works tmux -V || need tmux
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need postgresql
works psql --version || need postgresql-client
works /usr/bin/python3 -c 'import psycopg2' || need python3-psycopg2
# the Python tools pgwire's tool tests drive (Debian's versions)
works /usr/bin/python3 -c 'import sqlalchemy' || need python3-sqlalchemy
works /usr/bin/python3 -c 'import pandas' || need python3-pandas
works /usr/bin/python3 -c 'import alembic' || need python3-alembic
works /usr/bin/python3 -c 'import django' || need python3-django
works /usr/bin/python3 -c 'import pgcli.pgexecute' || need pgcli
works java -version || need default-jdk-headless
[ -f /usr/share/java/postgresql.jar ] || need libpostgresql-jdbc-java

if [ -n "$missing" ]; then
	echo "tools: installing$missing"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # the list is words by design
	$sudo apt-get install -y -q $missing || { $sudo apt-get update -q && $sudo apt-get install -y -q $missing; }
fi

# npm packages, from the lock files, only when absent or older than the lock
npm_ci() { # npm_ci DIR MARKER: npm ci in DIR unless MARKER is newer than the lock
	if ! [ -e "$1/$2" ] || [ "$1/package-lock.json" -nt "$1/$2" ]; then
		echo "tools: npm ci in $1"
		(cd "$1" && npm ci --silent --no-audit --no-fund)
		touch "$1/$2"
	fi
}
npm_ci sdk/assemblyscript node_modules/.bin/asc
npm_ci testdata/clients/node node_modules/pg/package.json
npm_ci testdata/clients/node-orm node_modules/typeorm/package.json
# the Go tools (GORM, golang-migrate) of their own module, for the cache
# pgwire.TestGORM builds from offline
if ! (cd testdata/clients/gotools && GOFLAGS=-mod=readonly GOPROXY=off go list -deps . >/dev/null 2>&1); then
	echo "tools: go mod download in testdata/clients/gotools"
	(cd testdata/clients/gotools && go mod download)
fi
echo "tools: everything make test uses is installed"
