#!/usr/bin/env python3
"""Compares Weft with PostgreSQL statement by statement over regression-style .sql files.

    python3 scripts/pgreg-compare.py [options] SQL_DIR

SQL_DIR holds .sql files the user supplies (for example PostgreSQL's own
src/test/regress/sql/*.sql); this script downloads nothing. Each file is split
into statements the way psql does (quotes, E'' strings, dollar quotes, comments
and parentheses respected; COPY ... FROM stdin takes its data lines up to \\.).
psql meta-commands (\\set, \\d, ...) and statements that need psql itself
(\\gset, \\gexec, :variables) are counted as skipped, never run.

Every file runs top to bottom in a fresh database on PostgreSQL (default
host=/tmp/pg port=5499 user=postgres; a new database per file) and on a fresh
`weft serve -data :memory:` per file. A statement matches when both give the
same command tag and the same rows (compared as text, order-insensitive unless
the statement says ORDER BY), or both fail with the same SQLSTATE.

Measured on PostgreSQL's suite (the files run alone, each after --setup):
    python3 scripts/pgreg-compare.py /tmp/pgreg-sql --setup /tmp/pgreg-setup/setup.sql
        --timeout 5 --details /tmp/pgreg-out --json /tmp/pgreg.json
where setup.sql is the suite's test_setup.sql with its COPY ... FROM data
files replaced by generated rows (onek, tenk1: INSERT ... SELECT over
generate_series), so that both servers hold the same tables.

Mismatch classes: Weft's error message with literals stripped; "wrong
SQLSTATE (pg X): ..." when both fail differently; "weft accepts what
PostgreSQL rejects (X)"; "same rows, different order" (ties under ORDER BY
are allowed to differ); "EXPLAIN output differs"; "wrong result".

Options:
    --weft BIN          weft binary (default bin/weft)
    --pg-host/--pg-port/--pg-user   the PostgreSQL 15 to compare with
    --setup FILE        statements run on both sides before each file, not counted
    --only a,b          only these files (names without .sql)
    --details DIR       write every mismatch (SQL, both answers) to DIR/<file>.txt
    --timeout SECONDS   per statement (default 10); a Weft timeout ends that file
    --top N             how many mismatch classes to print (default 40)
    --json FILE         write the per-file numbers and classes as JSON

Talks the PostgreSQL wire protocol itself (simple query protocol, trust or
password authentication), so only the Python standard library is needed.
"""
import argparse
import collections
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

# ---------------------------------------------------------------------------
# a minimal PostgreSQL wire-protocol client


class ConnectionLost(Exception):
    pass


class Result:
    """The outcome of one simple-query message: the last statement's rows and tag, or an error."""

    def __init__(self):
        self.rows = []
        self.tag = None
        self.has_rows = False
        self.error = None  # (sqlstate, message)


def _cstr(s):
    return s.encode() + b"\0"


class PGConn:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        self.addr = None
        self.backend_key = None  # (pid, secret) from BackendKeyData, for CancelRequest

    @classmethod
    def connect(cls, addr, user, database, password=None, timeout=10.0, options=None):
        if isinstance(addr, str):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
        c = cls(s, timeout)
        c.addr = addr
        body = struct.pack("!i", 196608) + _cstr("user") + _cstr(user) + _cstr("database") + _cstr(database)
        for k, v in (options or {}).items():
            body += _cstr(k) + _cstr(v)
        body += b"\0"
        c.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        while True:
            t, payload = c.read_msg()
            if t == b"R":
                code = struct.unpack("!i", payload[:4])[0]
                if code == 0:
                    continue
                if code == 3:
                    c.send(b"p", _cstr(password or ""))
                elif code == 5:
                    salt = payload[4:8]
                    inner = hashlib.md5(((password or "") + user).encode()).hexdigest()
                    outer = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
                    c.send(b"p", _cstr(outer))
                else:
                    raise RuntimeError("unsupported authentication method %d" % code)
            elif t == b"K":
                c.backend_key = payload[:8]
            elif t == b"E":
                raise RuntimeError("connect: %s" % (parse_error(payload),))
            elif t == b"Z":
                return c

    def cancel(self):
        """Sends a CancelRequest on a new connection, as psql does on ^C."""
        if self.backend_key is None:
            return
        s = socket.socket(socket.AF_UNIX if isinstance(self.addr, str) else socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.addr)
            s.sendall(struct.pack("!ii", 16, 80877102) + self.backend_key)
        finally:
            s.close()

    def wait_ready(self):
        """Reads up to ReadyForQuery after a cancel; returns the Result of the cancelled statement."""
        res = Result()
        while True:
            t, p = self.read_msg()
            if t == b"E":
                res.error = parse_error(p)
            elif t == b"Z":
                return res

    def send(self, t, payload):
        self.sock.sendall(t + struct.pack("!i", len(payload) + 4) + payload)

    def _fill(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                raise
            except OSError as e:
                raise ConnectionLost(str(e))
            if not chunk:
                raise ConnectionLost("server closed the connection")
            self.buf += chunk

    def read_msg(self):
        self._fill(5)
        t = self.buf[:1]
        n = struct.unpack("!i", self.buf[1:5])[0]
        self._fill(1 + n)
        payload = self.buf[5 : 1 + n]
        self.buf = self.buf[1 + n :]
        return t, payload

    def query(self, sql, copy_data=None):
        """Runs sql with the simple query protocol; returns the last statement's Result."""
        self.send(b"Q", _cstr(sql))
        res = Result()
        while True:
            t, p = self.read_msg()
            if t == b"T":
                res = Result() if res.error is None else res
                res.has_rows = True
                res.rows = []
            elif t == b"D":
                res.rows.append(parse_row(p))
            elif t == b"C":
                res.tag = p[:-1].decode(errors="replace")
            elif t == b"I":
                res.tag = "EMPTY"
            elif t == b"E":
                res.error = parse_error(p)
            elif t == b"G":  # CopyInResponse
                if copy_data is not None:
                    self.send(b"d", copy_data.encode())
                    self.send(b"c", b"")
                else:
                    self.send(b"f", _cstr("no COPY data in the script"))
            elif t == b"H":  # CopyOutResponse: rows come as d messages
                res.has_rows = True
            elif t == b"d":
                res.rows.append((p.decode(errors="replace"),))
            elif t == b"Z":
                return res
            # N (notice), S (parameter status), A (notification), K, c: ignored


def parse_row(p):
    n = struct.unpack("!h", p[:2])[0]
    pos, row = 2, []
    for _ in range(n):
        ln = struct.unpack("!i", p[pos : pos + 4])[0]
        pos += 4
        if ln < 0:
            row.append(None)
        else:
            row.append(p[pos : pos + ln].decode(errors="replace"))
            pos += ln
    return tuple(row)


def parse_error(p):
    fields = {}
    for part in p.split(b"\0"):
        if part:
            fields[part[:1].decode()] = part[1:].decode(errors="replace")
    return (fields.get("C", "?????"), fields.get("M", ""))


# ---------------------------------------------------------------------------
# splitting a script the way psql does

GSET_LIKE = {"gset", "gexec", "gdesc", "crosstabview", "gx"}


class Stmt:
    def __init__(self, sql, line, skip_reason=None, copy_data=None, meta=None):
        self.sql = sql
        self.line = line
        self.skip_reason = skip_reason
        self.copy_data = copy_data
        self.meta = meta  # a meta-command on its own (always skipped)


COPY_STDIN = re.compile(r"^\s*copy\b.*\bfrom\s+stdin\b", re.I | re.S)


def quoted_end(text, j, quote, backslash):
    """The index just past the closing quote of a quoted literal or name
    whose body starts at j (a doubled quote is one character; with
    backslash, E'' escapes are skipped); len(text) when it never ends."""
    n = len(text)
    while j < n:
        if backslash and text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            if text.startswith(quote * 2, j):
                j += 2
                continue
            return j + 1
        j += 1
    return n


def split_script(text):
    """Yields Stmt objects in order: SQL statements and skipped meta-commands."""
    out = []
    i, n = 0, len(text)
    buf = []
    depth = 0
    line = 1
    start_line = 1
    psql_vars = set()

    def flush(skip=None):
        nonlocal buf, depth
        sql = "".join(buf).strip()
        buf = []
        depth = 0
        if not sql:
            return None
        st = Stmt(sql, start_line, skip)
        if st.skip_reason is None and uses_psql_var(sql, psql_vars):
            st.skip_reason = "psql variable"
        out.append(st)
        return st

    while i < n:
        c = text[i]
        if not "".join(buf).strip():
            start_line = line
        if c == "\n":
            line += 1
            buf.append(c)
            i += 1
        elif c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j  # comments are dropped
        elif c == "/" and text.startswith("/*", i):
            d, j = 1, i + 2
            while j < n and d > 0:
                if text.startswith("/*", j):
                    d, j = d + 1, j + 2
                elif text.startswith("*/", j):
                    d, j = d - 1, j + 2
                else:
                    j += 1
            line += text.count("\n", i, j)
            buf.append(" ")
            i = j
        elif c == "'" or (c in "eE" and text.startswith("'", i + 1) and not prev_is_ident(buf)):
            j = quoted_end(text, i + (2 if c != "'" else 1), "'", c != "'")
            line += text.count("\n", i, j)
            buf.append(text[i:j])
            i = j
        elif c == '"':
            j = quoted_end(text, i + 1, '"', False)
            line += text.count("\n", i, j)
            buf.append(text[i:j])
            i = j
        elif c == "$" and not prev_is_ident(buf):
            m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
            if m:
                tag = m.group(0)
                j = text.find(tag, i + len(tag))
                j = n if j < 0 else j + len(tag)
                line += text.count("\n", i, j)
                buf.append(text[i:j])
                i = j
            else:
                buf.append(c)
                i += 1
        elif c == "(":
            depth += 1
            buf.append(c)
            i += 1
        elif c == ")":
            depth = max(0, depth - 1)
            buf.append(c)
            i += 1
        elif c == ";" and depth == 0:
            buf.append(c)
            st = flush()
            i += 1
            if st is not None and COPY_STDIN.match(st.sql):
                i, line = take_copy_data(text, i, line, st)
        elif c == "\\":
            j = text.find("\n", i)
            j = n if j < 0 else j
            cmdline = text[i + 1 : j]
            name = re.match(r"[A-Za-z!?.;]*", cmdline).group(0)
            if name in ("g",) or name in GSET_LIKE:
                st = flush("psql \\" + name if name != "g" else None)
                if name == "gset":
                    psql_vars.update(gset_names(st))
            else:
                # a meta-command: ends nothing, skipped; \set defines a variable
                if name == "set":
                    parts = cmdline.split()
                    if len(parts) > 1:
                        psql_vars.add(parts[1])
                out.append(Stmt("\\" + cmdline.strip(), line, "meta-command", meta=name))
            i = j
        else:
            buf.append(c)
            i += 1
    flush()
    return out


def prev_is_ident(buf):
    for chunk in reversed(buf):
        if chunk:
            ch = chunk[-1]
            return ch.isalnum() or ch == "_"
    return False


def gset_names(st):
    # \gset defines one variable per output column; we cannot know their names cheaply,
    # so later :var uses are caught by the generic rule in uses_psql_var.
    return set()


PSQL_VAR = re.compile(r"(?<![:\w]):(['\"]?)([A-Za-z_][A-Za-z_0-9]*)\1(?!:)")


def uses_psql_var(sql, psql_vars):
    stripped = strip_literals(sql)
    for m in PSQL_VAR.finditer(stripped):
        if m.group(1) or m.group(2) in psql_vars:
            return True
    return False


def strip_literals(sql):
    """sql with quoted strings and dollar-quoted bodies blanked (to look for :variables)."""
    sql = re.sub(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$.*?\$\1\$", "''", sql, flags=re.S)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def take_copy_data(text, i, line, st):
    # data starts on the line after the COPY statement and ends at a line "\."
    nl = text.find("\n", i)
    if nl < 0:
        return len(text), line
    i = nl + 1
    line += 1
    lines = []
    while i < len(text):
        j = text.find("\n", i)
        j = len(text) if j < 0 else j
        ln = text[i:j]
        i = j + 1
        line += 1
        if ln == "\\.":
            break
        lines.append(ln + "\n")
    st.copy_data = "".join(lines)
    return i, line


# ---------------------------------------------------------------------------
# running and comparing


def normalize(res, ordered):
    if res.error:
        return ("error", res.error[0])
    rows = [tuple("NULL" if v is None else v for v in r) for r in res.rows]
    if not ordered:
        rows = sorted(rows)
    return ("ok", (res.tag or "").split(" ")[0], rows if res.has_rows else None, tag_count(res.tag))


def tag_count(tag):
    # INSERT 0 5 / UPDATE 3: the row count is part of the answer; SELECT n is covered by the rows
    if not tag:
        return None
    parts = tag.split(" ")
    if parts[0] in ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "MOVE", "FETCH"):
        return parts[-1]
    return None


ORDER_BY = re.compile(r"\border\s+by\b", re.I)


def classify_message(msg):
    m = re.sub(r'"[^"]*"', '"X"', msg)
    m = re.sub(r"'[^']*'", "'X'", m)
    m = re.sub(r"\b\d+(\.\d+)?\b", "N", m)
    m = re.sub(r"function \S+\(.*?\) does not exist", "function X(...) does not exist", m)
    m = re.sub(r"(function|operator|type|column|relation|table|schema|view|index|sequence|constraint) (?!X\b|does\b)\S+", r"\1 X", m)
    m = re.sub(r"at or near \S+", "at or near X", m)
    return m[:160]


class Side:
    """One server under comparison: how to get a fresh connection per file."""

    def __init__(self, name, opener, closer):
        self.name = name
        self.open = opener
        self.close = closer


def pg_side(args):
    admin = {"conn": None}

    def opener(tag):
        if admin["conn"] is None:
            admin["conn"] = PGConn.connect(pg_addr(args), args.pg_user, "postgres", timeout=60)
        db = "pgreg_" + re.sub(r"\W", "_", tag)
        admin["conn"].query('DROP DATABASE IF EXISTS "%s"' % db)
        r = admin["conn"].query('CREATE DATABASE "%s" TEMPLATE template0' % db)
        if r.error:
            raise RuntimeError("create database: %s" % (r.error,))
        c = PGConn.connect(pg_addr(args), args.pg_user, db, timeout=args.timeout)
        c.query("SET statement_timeout = '%ds'" % int(args.timeout * 1000 // 1000))
        return c, db

    def closer(handle):
        c, db = handle
        try:
            c.sock.close()
        except OSError:
            pass
        admin["conn"].query('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db)

    return Side("postgres", opener, closer)


def pg_addr(args):
    if args.pg_host.startswith("/"):
        return os.path.join(args.pg_host, ".s.PGSQL.%d" % args.pg_port)
    return (args.pg_host, args.pg_port)


def weft_side(args):
    def opener(tag):
        port = free_port()
        proc = subprocess.Popen(
            [args.weft, "serve", "-data", ":memory:", "-listen", "127.0.0.1:%d" % port, "-no-tls"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 20
        while True:
            try:
                c = PGConn.connect(("127.0.0.1", port), "weft", "weft", timeout=args.timeout)
                return c, proc
            except (OSError, ConnectionLost):
                if time.time() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError("weft did not start")
                time.sleep(0.05)

    def closer(handle):
        c, proc = handle
        try:
            c.sock.close()
        except OSError:
            pass
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return Side("weft", opener, closer)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run_one(conn, st):
    """Runs one statement; returns a Result, or a string for a lost connection or timeout."""
    if conn is None:
        return "connection lost"
    try:
        return conn.query(st.sql, st.copy_data)
    except socket.timeout:
        pass
    except ConnectionLost:
        return "connection lost"
    # a timeout: cancel the statement and go on if the server answers the cancel
    try:
        conn.cancel()
        conn.wait_ready()
        return "timeout (cancelled)"
    except (OSError, socket.timeout):
        return "timeout"
    except ConnectionLost:
        return "connection lost"


def run_file(args, path, pg, weft, setup):
    stmts = split_script(open(path, encoding="utf-8", errors="replace").read())
    tag = os.path.basename(path)[:-4]
    ph = pg.open(tag)
    try:
        wh = weft.open(tag)
    except BaseException:
        pg.close(ph)
        raise
    try:
        return compare_statements(args, stmts, ph, wh, setup)
    finally:  # also on ^C: no server is left running
        pg.close(ph)
        weft.close(wh)


def compare_statements(args, stmts, ph, wh, setup):
    pc, wc = ph[0], wh[0]
    for st in setup:
        if st.skip_reason is None:
            run_one(pc, st)
            run_one(wc, st)
    stats = collections.Counter()
    mismatches = []
    for st in stmts:
        if st.skip_reason:
            stats["skipped"] += 1
            continue
        stats["total"] += 1
        pr = run_one(pc, st)
        wr = run_one(wc, st)
        if isinstance(wr, str):
            cls = "weft " + wr
            if wr != "timeout (cancelled)":
                wc = None  # the rest of the file is lost on Weft
            stats["mismatch"] += 1
            mismatches.append((st, pr, wr, cls))
            continue
        if isinstance(pr, str):
            stats["pg-" + pr] += 1
            pc = PGConn.connect(pg_addr(args), args.pg_user, ph[1], timeout=args.timeout) if pr == "connection lost" else pc
            continue
        ordered = bool(ORDER_BY.search(strip_literals(st.sql)))
        if normalize(pr, ordered) == normalize(wr, ordered):
            stats["match"] += 1
            continue
        stats["mismatch"] += 1
        mismatches.append((st, pr, wr, mismatch_class(st, pr, wr)))
    return stats, mismatches


EXPLAIN = re.compile(r"^\s*explain\b", re.I)


def mismatch_class(st, pr, wr):
    if EXPLAIN.match(st.sql) and not pr.error and not wr.error:
        return "EXPLAIN output differs (plans are engine-specific)"
    if wr.error:
        if pr.error:
            return "wrong SQLSTATE (pg %s): %s" % (pr.error[0], classify_message(wr.error[1]))
        return classify_message(wr.error[1])
    if pr.error:
        return "weft accepts what PostgreSQL rejects (%s)" % pr.error[0]
    if normalize(pr, False) == normalize(wr, False):
        return "same rows, different order (ties under ORDER BY?)"
    if EXPLAIN.match(st.sql):
        return "EXPLAIN output differs (plans are engine-specific)"
    return "wrong result"


def describe(res):
    if isinstance(res, str):
        return res
    if res.error:
        return "ERROR %s: %s" % res.error
    out = "tag=%s" % res.tag
    if res.has_rows:
        rows = res.rows[:20]
        out += " rows=%d\n    " % len(res.rows) + "\n    ".join("|".join("NULL" if v is None else v for v in r) for r in rows)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sql_dir")
    ap.add_argument("--weft", default="bin/weft")
    ap.add_argument("--pg-host", default="/tmp/pg")
    ap.add_argument("--pg-port", type=int, default=5499)
    ap.add_argument("--pg-user", default="postgres")
    ap.add_argument("--setup")
    ap.add_argument("--only")
    ap.add_argument("--details")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--json")
    args = ap.parse_args()

    files = sorted(f for f in os.listdir(args.sql_dir) if f.endswith(".sql"))
    if args.only:
        keep = set(args.only.split(","))
        files = [f for f in files if f[:-4] in keep]
    setup = split_script(open(args.setup).read()) if args.setup else []
    pg, weft = pg_side(args), weft_side(args)
    if args.details:
        os.makedirs(args.details, exist_ok=True)
    total = collections.Counter()
    classes = collections.Counter()
    per_file = {}
    for f in files:
        stats, mism = run_file(args, os.path.join(args.sql_dir, f), pg, weft, setup)
        total.update(stats)
        for m in mism:
            classes[m[3]] += 1
        pct = 100.0 * stats["match"] / stats["total"] if stats["total"] else 100.0
        per_file[f[:-4]] = {"match": stats["match"], "total": stats["total"], "skipped": stats["skipped"], "pct": round(pct, 1)}
        print("%-22s %5.1f%%  %4d/%-4d  skipped %d" % (f[:-4], pct, stats["match"], stats["total"], stats["skipped"]), flush=True)
        if args.details:
            with open(os.path.join(args.details, f[:-4] + ".txt"), "w") as out:
                for st, pr, wr, cls in mism:
                    out.write("-- line %d [%s]\n%s\n  pg:   %s\n  weft: %s\n\n" % (st.line, cls, st.sql, describe(pr), describe(wr)))
    pct = 100.0 * total["match"] / total["total"] if total["total"] else 100.0
    print("\nOVERALL %.1f%%  %d/%d statements match  (%d skipped psql meta-commands/variables)" % (pct, total["match"], total["total"], total["skipped"]))
    print("\nTop mismatch classes:")
    for cls, n in classes.most_common(args.top):
        print("%6d  %s" % (n, cls))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"overall": round(pct, 1), "files": per_file, "classes": classes.most_common()}, out, indent=1)


if __name__ == "__main__":
    main()
