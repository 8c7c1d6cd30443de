#!/bin/sh
# Proves the README on a fresh checkout: clones this repository (its
# committed HEAD) into a temporary directory with ../shared beside it, runs
# the README's first command (build and open the embedded database, fed a
# few statements on stdin) and then .ci/run (make tools, then make test),
# exactly as CI does.
#
# FRESH_PURGE=1 first removes the tool packages make tools installs (wabt,
# clang, lld, Debian's rustc and its wasm32 std, psycopg2, pgjdbc, the Python
# tools), so the run starts from a machine where they were never installed.
# The image's own Node.js, JDK, tmux and PostgreSQL are left: they are part
# of the image.
# Needs root (or sudo) for the purge and for make tools' apt-get.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" 2>/dev/null && pwd || true)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-fresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ "${FRESH_PURGE:-}" = 1 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "fresh-check: removing the tool packages"
	$sudo apt-get remove -y -q wabt clang lld rustc libstd-rust-dev-wasm32 python3-psycopg2 libpostgresql-jdbc-java python3-sqlalchemy python3-pandas python3-alembic python3-django pgcli >/dev/null
	$sudo apt-get autoremove -y -q >/dev/null
fi

echo "fresh-check: cloning $repo into $tmp/main"
git clone -q "$repo" "$tmp/main"
[ -n "$shared" ] && ln -s "$shared" "$tmp/shared"
cd "$tmp/main"

echo "fresh-check: README command 1: go run ./cmd/weft"
out=$(printf '%s\n' \
	"CREATE TABLE fresh (id int, name text);" \
	"INSERT INTO fresh VALUES (1, 'a'), (2, NULL);" \
	"INSERT INTO fresh VALUES (3, 'a');" \
	"SELECT count(name), sum(id) FROM fresh;" | go run ./cmd/weft 2>&1)
echo "$out"
printf '%s\n' "$out" | grep -Eq '^ *2 +\| +6 *$' || { echo "fresh-check: wrong answer from the embedded database"; exit 1; }
[ -d weft-data ] || { echo "fresh-check: no ./weft-data after the first command"; exit 1; }
# and it is still there after a restart
again=$(echo "SELECT count(*) FROM fresh;" | go run ./cmd/weft 2>&1)
printf '%s\n' "$again" | grep -Eq '^ *3 *$' || { echo "fresh-check: data did not survive a restart: $again"; exit 1; }

echo "fresh-check: README command 2 as CI runs it: .ci/run"
start=$(date +%s)
./.ci/run
echo "fresh-check: .ci/run passed in $(( $(date +%s) - start )) s"
