#!/usr/bin/env python3
"""Turn a draft of SQL records into a sqllogictest file whose expected
results come from a real PostgreSQL, run through one psql session.

Draft format: records separated by blank lines; a record's first line is
`statement` or `query TYPES [rowsort]`, the rest is its SQL. Lines
starting with `#` are copied as they are.

    scripts/pg2slt.py draft.sql out.slt -- psql -h HOST -p PORT -U weft -d weft
"""
import subprocess
import sys


def records(text):
    for block in text.strip().split("\n\n"):
        lines = block.strip("\n").split("\n")
        comments = [l for l in lines if l.startswith("#")]
        body = [l for l in lines if not l.startswith("#")]
        if not body:
            yield comments, None, None
            continue
        yield comments, body[0].split(), "\n".join(body[1:])


def main():
    draft, out, psql = sys.argv[1], sys.argv[2], sys.argv[4:]
    recs = list(records(open(draft).read()))
    script = ["\\set VERBOSITY verbose", "\\pset null NULL", "\\pset tuples_only on", "\\pset format unaligned", "\\pset fieldsep '\t'"]
    for i, (_, head, sql) in enumerate(recs):
        if head is None:
            continue
        script.append("\\echo ===REC %d===" % i)
        script.append(sql.rstrip().rstrip(";") + ";")
    script.append("\\echo ===END===")
    res = subprocess.run(psql + ["-X", "-q"], input="\n".join(script) + "\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = res.stdout
    outputs = {}
    cur = None
    for line in text.split("\n"):
        if line.startswith("===REC "):
            cur = int(line.split()[1].rstrip("="))
            outputs[cur] = []
        elif line.startswith("===END==="):
            cur = None
        elif cur is not None:
            outputs[cur].append(line)
    w = []
    for i, (comments, head, sql) in enumerate(recs):
        w.extend(comments)
        if head is None:
            w.append("")
            continue
        lines = [l for l in outputs.get(i, []) if l != ""]
        err = next((l for l in lines if "ERROR:" in l), None)
        if err:
            code = err.split("ERROR:")[1].strip().split(":")[0]
            w.append("statement error " + code if head[0] == "statement" else "query error " + code)
            w.append(sql)
        elif head[0] == "statement":
            w.append("statement ok")
            w.append(sql)
        else:
            rows = [l for l in lines if not l.startswith(("psql:", "DETAIL:", "LOCATION:", "NOTICE:", "WARNING:", "HINT:"))]
            if len(head) > 2 and head[2] == "rowsort":
                rows.sort()
            w.append(" ".join(head))
            w.append(sql)
            w.append("----")
            w.extend(rows)
        w.append("")
    open(out, "w").write("\n".join(w))


if __name__ == "__main__":
    main()
