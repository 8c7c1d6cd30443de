#!/usr/bin/python3
"""Fills in a sqllogictest file's expected results from a real PostgreSQL.

    /usr/bin/python3 scripts/slt-expect.py 'host=/tmp/pg port=5499 user=postgres' draft.slt > out.slt

The draft holds `statement ok` / `statement error` records and `query <types>
[rowsort]` records with their SQL and no results; each query's result is
taken from the server (NULL printed as NULL, as the runner does) and written
under `----`. Every statement runs in a fresh schema, dropped afterwards, so
the server keeps nothing. A statement that fails where the draft says ok (or
the reverse) stops the script: the draft is wrong, not PostgreSQL.
"""
import sys
from decimal import Decimal

import psycopg2
import psycopg2.extensions


def records(text):
    rec = []
    for line in text.split("\n"):
        if line.strip() == "" and rec:
            yield rec
            rec = []
        elif line.strip() != "" or rec:
            rec.append(line)
    if rec:
        yield rec


def fmt(v, letter):
    """Formats PostgreSQL's text output of a value as the runner does."""
    if v is None:
        return "NULL"
    if letter == "I" and v in ("t", "f"):
        return "1" if v == "t" else "0"
    if letter == "I":
        return str(int(Decimal(v)))  # truncates toward zero, as the runner
    if letter == "R":
        return "%.3f" % float(v)
    v = "".join("@" if ord(c) < 32 or ord(c) == 127 else c for c in v)
    return v if v != "" else "(empty)"


def main():
    dsn, path = sys.argv[1], sys.argv[2]
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    # every value as PostgreSQL's own text output
    cur.execute("SELECT oid FROM pg_type")
    oids = tuple(r[0] for r in cur.fetchall())
    psycopg2.extensions.register_type(psycopg2.extensions.new_type(oids, "PGTEXT", lambda v, c: v), conn)
    cur.execute("DROP SCHEMA IF EXISTS slt_expect CASCADE; CREATE SCHEMA slt_expect; SET search_path = slt_expect")
    out = []
    for rec in records(open(path).read()):
        head = rec[0]
        if head.startswith("#") or head.strip() == "reopen":
            out.append("\n".join(rec))
            continue
        sql = "\n".join(l for l in rec[1:] if l != "----")
        if "----" in rec:
            sql = "\n".join(rec[1:rec.index("----")])
        if head.startswith("statement"):
            try:
                cur.execute(sql)
                ok = True
            except psycopg2.Error as e:
                ok, err = False, e
            if ok != (head == "statement ok"):
                sys.exit("%s\n%s\nPostgreSQL: %s" % (head, sql, "ok" if ok else err))
            out.append(head + "\n" + sql)
            continue
        cur.execute(sql)
        letters = head.split()[1]
        rows = [[fmt(v, letters[i] if i < len(letters) else "T") for i, v in enumerate(r)] for r in cur.fetchall()]
        if "rowsort" in head.split()[2:]:
            rows.sort()
        lines = ["\t".join(r) for r in rows]
        out.append(head + "\n" + sql + "\n----" + ("\n" + "\n".join(lines) if lines else ""))
    cur.execute("DROP SCHEMA slt_expect CASCADE")
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
