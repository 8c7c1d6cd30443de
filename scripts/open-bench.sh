#!/bin/bash
# open-bench.sh BIN DIR ROWS [PORT]: fills DIR (under /tmp; removed first) with
# table big (x bigint in insert order, y bigint), ROWS rows in 10M-row
# INSERTs and a CHECKPOINT, unless DIR holds it already; then serves DIR and
# reports the time until the server accepts a connection, its memory
# (/proc: VmHWM, VmRSS, RssAnon, RssFile), a full scan twice and a selective
# range with the segments its zone maps skipped. Delete DIR afterwards.
set -e
BIN=$1; DIR=$2; ROWS=$3; PORT=${4:-55499}
case $DIR in /tmp/*) ;; *) echo "DIR must be under /tmp"; exit 2;; esac
if [ ! -f $DIR/catalog.json ]; then
  rm -rf $DIR
  $BIN -data $DIR -c "CREATE TABLE big (x bigint, y bigint)" >/dev/null
  i=0
  while [ $i -lt $ROWS ]; do
    n=$((i + 10000000)); [ $n -gt $ROWS ] && n=$ROWS
    $BIN -data $DIR -c "INSERT INTO big SELECT g, g % 1000 FROM generate_series($((i + 1)), $n) g" >/dev/null
    i=$n
  done
  $BIN -data $DIR -c "CHECKPOINT" >/dev/null
fi
mem() { grep -E '^(VmHWM|VmRSS|RssAnon|RssFile)' /proc/$PID/status | tr -s ' \n' ' '; echo; }
q() { psql -h 127.0.0.1 -p $PORT -U weft -d weft -Atq -c '\timing on' -c "$1" 2>&1 | tr '\n' ' '; echo; }
start=$(date +%s.%N)
$BIN serve --data $DIR --listen 127.0.0.1:$PORT --no-tls 2>/dev/null &
PID=$!
until psql -h 127.0.0.1 -p $PORT -U weft -d weft -Atqc 'SELECT 1' >/dev/null 2>&1; do sleep 0.02; done
echo "open: $(echo "$(date +%s.%N) - $start" | bc) s; $(mem)"
q "SELECT sum(x) FROM big"
q "SELECT sum(x) FROM big"
echo "after scans: $(mem)"
lo=$((ROWS / 2)); hi=$((ROWS / 2 + 100000))
q "SELECT count(*), sum(y) FROM big WHERE x BETWEEN $lo AND $hi"
psql -h 127.0.0.1 -p $PORT -U weft -d weft -Atqc "EXPLAIN ANALYZE SELECT count(*), sum(y) FROM big WHERE x BETWEEN $lo AND $hi" | grep -o "Scan.*"
kill $PID
wait $PID 2>/dev/null || true
