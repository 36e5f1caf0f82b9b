"""DuckDB as an optional contender in bench/run.py.

The same segmentation as bench/retail-bench.yaml, written in DuckDB's SQL
(bench/retail-bench.duckdb.sql), runs through the `@duckdb/node-api` npm package
(bench/duckdb/query.mjs) on customers and orders preloaded from the benchmark's base. The
load and the query are timed apart; the query's segment sizes must equal strata's.

The package is installed once per benchmark run with npm into a temporary folder, which then
becomes the cache build/bench/duckdb-npm/ (reused while it holds the pinned version). Without
node or npm, or when the install fails, DuckDB is skipped with a one-line note: the benchmark
never fails for it.

run.py calls three functions:
  measure(root, db, engine_counts, repeat) -> dict of duckdb_* fields for one base size
  summary(result)                          -> the line printed for that size
  add_columns(table, rows)                 -> the report's tables with DuckDB's columns, or its note
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

PACKAGE = "@duckdb/node-api"
VERSION = "1.5.6-r.1"  # pinned: `npm view @duckdb/node-api version`

_setup = None  # (node_modules folder, None) once installed, or (None, note) when skipped


def _cached_version(modules):
    try:
        with open(os.path.join(modules, "@duckdb", "node-api", "package.json")) as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def _npm_reason(stderr):
    """npm's first line that says what went wrong (not its error code or log file)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("npm error") and not line.startswith("npm error code") and "complete log" not in line:
            return line[len("npm error"):].strip().rstrip(".")
    return lines[-1].rstrip(".") if lines else "no message"


def _node_reason(stderr):
    """query.mjs's own message, else the error line of node's report, else its first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for prefix in ("duckdb contender:", "Error"):
        for line in lines:
            if line.startswith(prefix):
                return line.rstrip(".")
    return lines[0].rstrip(".") if lines else "no message"


def _install(root):
    """Returns (node_modules folder, None), or (None, why DuckDB is skipped)."""
    if not shutil.which("node") or not shutil.which("npm"):
        return None, "DuckDB skipped: node or npm is not installed."
    cache = os.path.join(root, "build", "bench", "duckdb-npm")
    modules = os.path.join(cache, "node_modules")
    if _cached_version(modules) == VERSION:
        return modules, None
    print(f"installing {PACKAGE}@{VERSION} with npm ...", file=sys.stderr)
    folder = tempfile.mkdtemp(prefix="strata-bench-duckdb-")
    try:
        proc = subprocess.run(["npm", "install", "--prefix", folder, "--no-audit", "--no-fund",
                               f"{PACKAGE}@{VERSION}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"DuckDB skipped: npm install {PACKAGE}@{VERSION} did not finish ({error})."
    if proc.returncode != 0 or _cached_version(os.path.join(folder, "node_modules")) != VERSION:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"DuckDB skipped: npm install {PACKAGE}@{VERSION} failed ({_npm_reason(proc.stderr)})."
    shutil.rmtree(cache, ignore_errors=True)
    shutil.move(folder, cache)
    return modules, None


def _export(db):
    """CSV files of the base's customers and orders (sqlite3 shell), made once next to it."""
    files = {}
    for table, key in (("customers", "customer_id"), ("orders", "order_id")):
        path = db.replace(".db", f"-{table}.csv")
        if not os.path.exists(path):
            partial = path + ".partial"
            with open(partial, "w") as out:
                subprocess.run(["sqlite3", "-readonly", "-csv", "-header", db,
                                f"SELECT * FROM {table} ORDER BY {key}"], stdout=out, check=True)
            os.replace(partial, path)
        files[table] = path
    return files


def measure(root, db, engine_counts, repeat):
    """Loads db's customers and orders into DuckDB and times the segmentation (best of repeat).
    Returns duckdb_load, duckdb_query (seconds), duckdb_agree, duckdb_mismatches ({segment:
    (strata, duckdb)}), duckdb_version and duckdb_rss (the node process's peak RSS in MiB,
    the loaded tables included); or only duckdb_note when DuckDB was skipped or failed."""
    global _setup
    if _setup is None:
        _setup = _install(root)
    modules, note = _setup
    if note:
        return {"duckdb_note": note}
    files = _export(db)
    script = os.path.join(root, "bench", "duckdb", "query.mjs")
    sql = os.path.join(root, "bench", "retail-bench.duckdb.sql")
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(["node", script, "--modules", modules, "--customers", files["customers"],
                                 "--orders", files["orders"], "--sql", sql, "--repeat", str(repeat)],
                                stdout=subprocess.PIPE, stderr=stderr)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the node process's peak RSS, as run.py takes strata's
        proc.stdout.close()
        stderr.seek(0)
        message = stderr.read().decode(errors="replace")
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    if code != 0:
        note = f"DuckDB failed on {os.path.basename(db)} (exit {code}: {_node_reason(message)})."
        return {"duckdb_note": note}
    try:
        out = json.loads(stdout)
    except ValueError:
        note = f"DuckDB failed on {os.path.basename(db)} (its output is not JSON: {stdout[:80]!r})."
        return {"duckdb_note": note}
    counts = out["counts"]
    mismatches = {k: (engine_counts.get(k, 0), counts.get(k, 0)) for k in set(engine_counts) | set(counts)
                  if engine_counts.get(k, 0) != counts.get(k, 0)}
    return {"duckdb_load": out["load_s"], "duckdb_query": out["query_s"], "duckdb_agree": not mismatches,
            "duckdb_mismatches": mismatches, "duckdb_version": out["duckdb_version"],
            "duckdb_rss": usage.ru_maxrss / 1024.0}


def summary(r):
    """The line run.py prints for one size."""
    if "duckdb_note" in r:
        return "           " + r["duckdb_note"]
    return (f"           DuckDB {r['duckdb_version']} query {r['duckdb_query']:.2f}s "
            f"(load {r['duckdb_load']:.2f}s, timed apart)  strata/DuckDB {r['strata'] / r['duckdb_query']:5.2f}  "
            f"DuckDB peak RSS {r['duckdb_rss']:.0f} MiB  "
            f"{'same segments' if r['duckdb_agree'] else 'MISMATCH ' + str(r['duckdb_mismatches'])}")


def add_columns(table, rows):
    """Returns the report's table lines with DuckDB's query, its load, strata / DuckDB and
    whether its segments match strata's appended to the first table (one line per row of
    rows); a skipped or failed DuckDB adds its note below the tables instead."""
    notes = list(dict.fromkeys(r["duckdb_note"] for r in rows if "duckdb_note" in r))
    measured = [r for r in rows if "duckdb_note" not in r]
    table = list(table)
    end = table.index("") if "" in table else len(table)
    if measured and end == len(rows) + 2:
        version = measured[0]["duckdb_version"]
        table[0] += f" DuckDB {version} query | DuckDB load | strata / DuckDB | DuckDB same segments |"
        table[1] += "---:|---:|---:|:---:|"
        for i, r in enumerate(rows):
            if "duckdb_note" in r:
                table[2 + i] += " – | – | – | – |"
            else:
                table[2 + i] += (f" {r['duckdb_query']:.2f} s | {r['duckdb_load']:.2f} s | "
                                 f"{r['strata'] / r['duckdb_query']:.2f} | {'yes' if r['duckdb_agree'] else 'NO'} |")
    if notes:
        table += [""] + notes
    return table


def all_agree(rows):
    """False when DuckDB ran and put a different number of customers in some segment."""
    return all(r.get("duckdb_agree", True) for r in rows)
