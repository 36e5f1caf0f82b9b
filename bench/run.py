#!/usr/bin/env python3
"""The strata benchmark: `strata run` against hand-written SQL and the read floor, in one run.

For each base size it generates (once, cached in build/bench/) a retail base with
`strata demo-data --kind retail`, then measures, on the same file:
  - strata:   strata run bench/retail-bench.yaml (full run, membership stored in a state file)
  - sql:      the same segmentation by hand in the sqlite3 shell (bench/retail-bench.sql),
              materialising the same membership
  - floor:    one sqlite3 aggregate pass over the orders table (the read floor)
  - second:   a second stored run after 1% of the customers bought again (a copy of the base
              with one more order each): its time, the customers who moved and the stay rows
              it wrote (only what changed is written)
and prints wall times (best of --repeat), strata's peak RSS and the ratios, and the time of
each of strata's phases (from one more run with -v). It also checks
that strata and the SQL put exactly the same number of customers in every segment.

With --baseline PATH (another strata binary, say one built from an earlier commit) it also
times that binary on the same base, interleaved with strata's runs, and prints the ratio:
how a change to the engine costs or pays, measured side by side.

DuckDB runs the same segmentation as an optional contender (bench/duckdb_contender.py), its
query timed apart from its load; without node and npm it is skipped with a note.

Usage: python3 bench/run.py [--sizes 100000,1000000,10000000] [--repeat 3] [--write-doc]
                            [--baseline PATH]
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import duckdb_contender
import incremental_bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, "build", "strata")
RULES = os.path.join(ROOT, "bench", "retail-bench.yaml")
SQL = os.path.join(ROOT, "bench", "retail-bench.sql")
FLOOR = "SELECT count(*), total(amount), max(order_date) FROM orders;"


def measure(cmd, stdin=None):
    """Runs cmd; returns (seconds, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()}")
    return elapsed, out.decode()


def measure_rss(cmd):
    """Runs cmd and returns (seconds, peak RSS in MiB, stdout) using wait4 on the child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024.0, out.decode()


def best(n, fn):
    results = [fn() for _ in range(n)]
    return min(results, key=lambda r: r[0])


def segment_counts(report):
    counts = {}
    def walk(segs):
        for s in segs:
            counts[s["id"]] = s["count"]
            walk(s["tactical"])
    walk(json.loads(report)["segments"])
    return counts


def second_run(db, customers, repeat):
    """A run after 1% of the customers changed: each of them bought once more on the as_of
    day. The first run stores every customer's stays; the second writes only what moved.
    Returns its time (best of repeat) and what it wrote."""
    changed = db.replace(".db", "-changed.db")
    if not os.path.exists(changed):
        con = sqlite3.connect(db)
        con.execute(f"VACUUM INTO '{changed}'")
        con.close()
        con = sqlite3.connect(changed)
        con.execute("INSERT INTO orders (customer_id, order_date, amount, category, items) "
                    "SELECT customer_id, '2026-11-01', 250.0, 'books', 1 FROM customers "
                    "WHERE customer_id % 100 = 7")
        con.commit()
        con.close()
    state = os.path.join(os.path.dirname(db), f"state-second-{customers}.db")
    times = []
    report = None
    for _ in range(repeat):
        if os.path.exists(state):
            os.remove(state)
        measure([STRATA, "run", RULES, "--db", db, "--state", state, "--format", "json"])
        t, out = measure([STRATA, "run", RULES, "--db", changed, "--state", state, "--format", "json"])
        times.append(t)
        report = json.loads(out)
    moves = report["transitions"]
    return {"second": min(times), "second_moved": moves["moved"], "second_written": moves["stays_written"]}


def run_size(customers, repeat, baseline=None):
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    db = os.path.join(ROOT, "build", "bench", f"retail-{customers}.db")
    state = os.path.join(ROOT, "build", "bench", f"state-{customers}.db")
    if not os.path.exists(db):
        print(f"generating {customers:,} customers ...", file=sys.stderr)
        subprocess.run([STRATA, "demo-data", "--kind", "retail", "--customers", str(customers), "--out", db],
                       check=True, stdout=subprocess.DEVNULL)
    con = sqlite3.connect(db)
    orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    con.close()

    # Warm the page cache once so that every contender reads from memory.
    measure(["sqlite3", db, FLOOR])

    def strata(binary=STRATA):
        if os.path.exists(state):
            os.remove(state)
        return measure_rss([binary, "run", RULES, "--db", db, "--state", state, "--format", "json"])

    def strata_phases():
        """One more run with -v: the time of each phase, as the engine logs it."""
        if os.path.exists(state):
            os.remove(state)
        proc = subprocess.run([STRATA, "run", RULES, "--db", db, "--state", state, "--format", "json", "-v"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return re.findall(r"\[info\] ([^:\n]+): (\d+) ms", proc.stderr)

    def sql():
        with open(SQL) as f:
            return measure(["sqlite3", db], stdin=f)

    def floor():
        return measure(["sqlite3", db, FLOOR])

    if baseline:
        # Interleaved, so that both see the same state of a noisy machine.
        runs = [(strata(), strata(baseline)) for _ in range(repeat)]
        t_strata, rss, report = min((r[0] for r in runs), key=lambda r: r[0])
        t_base, base_rss, base_report = min((r[1] for r in runs), key=lambda r: r[0])
    else:
        t_strata, rss, report = best(repeat, strata)
    phases = strata_phases()
    second = second_run(db, customers, repeat)
    t_sql, sql_out = best(repeat, sql)
    t_floor, _ = best(repeat, floor)

    # Both must give the same segmentation.
    engine = segment_counts(report)
    con = sqlite3.connect(db)
    by_sql = dict(con.execute("SELECT segment, count(*) FROM bench_membership GROUP BY segment"))
    for (tags,) in con.execute("SELECT tactical FROM bench_membership WHERE tactical != ''"):
        for tag in tags.split(";"):
            by_sql[tag] = by_sql.get(tag, 0) + 1
    con.execute("DROP TABLE bench_membership")
    con.commit()
    con.close()
    mismatches = {k: (engine.get(k, 0), by_sql.get(k, 0)) for k in set(engine) | set(by_sql)
                  if engine.get(k, 0) != by_sql.get(k, 0)}
    result = {
        "customers": customers, "orders": orders, "strata": t_strata, "sql": t_sql, "floor": t_floor,
        "rss": rss, "agree": not mismatches, "mismatches": mismatches, "phases": phases,
    }
    result.update(second)
    result.update(duckdb_contender.measure(ROOT, db, engine, repeat))
    result.update(incremental_bench.measure(STRATA, RULES, db, customers, repeat))
    if baseline:
        result.update({"baseline": t_base, "baseline_rss": base_rss,
                       "baseline_same": segment_counts(base_report) == engine})
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write-doc", action="store_true", help="rewrite the figures in docs/performance.md")
    ap.add_argument("--baseline", help="another strata binary to time side by side (e.g. an earlier commit's)")
    ap.add_argument("--eval-latency", action="store_true", help="then time strata eval and the library call (bench/latency.py)")
    args = ap.parse_args()
    if not os.path.exists(STRATA):
        sys.exit("build first: make build")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        r = run_size(size, args.repeat if size <= 1000000 else 1, args.baseline)
        rows.append(r)
        print(f"{r['customers']:>10,} customers {r['orders']:>11,} orders  strata {r['strata']:7.2f}s  "
              f"sql {r['sql']:7.2f}s  floor {r['floor']:6.2f}s  strata/sql {r['strata'] / r['sql']:5.3f}  "
              f"strata/floor {r['strata'] / r['floor']:5.2f}  peak RSS {r['rss']:7.0f} MiB  "
              f"{'same segments' if r['agree'] else 'MISMATCH ' + str(r['mismatches'])}", flush=True)
        print(f"           second run after 1% of the customers bought again: {r['second']:.2f}s, "
              f"{r['second_moved']:,} customers moved, {r['second_written']:,} stay rows written", flush=True)
        if args.baseline:
            print(f"           baseline {r['baseline']:7.2f}s  strata/baseline {r['strata'] / r['baseline']:5.3f}  "
                  f"baseline peak RSS {r['baseline_rss']:7.0f} MiB  "
                  f"{'same segments' if r['baseline_same'] else 'segments differ'} as the baseline", flush=True)
        print("           strata phases: " + "; ".join(f"{name} {ms} ms" for name, ms in r["phases"]),
              flush=True)
        print(duckdb_contender.summary(r), flush=True)
        print(incremental_bench.summary(r), flush=True)
    table = ["| customers | orders | strata run | hand-written SQL | read floor | strata / SQL | strata / floor | strata peak RSS | same segments |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for r in rows:
        table.append(f"| {r['customers']:,} | {r['orders']:,} | {r['strata']:.2f} s | {r['sql']:.2f} s | {r['floor']:.2f} s | "
                     f"{r['strata'] / r['sql']:.3f} | {r['strata'] / r['floor']:.2f} | {r['rss']:.0f} MiB | "
                     f"{'yes' if r['agree'] else 'NO'} |")
    table += ["", "| customers | second run (1% bought again) | customers moved | stay rows written |",
              "|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['customers']:,} | {r['second']:.2f} s | {r['second_moved']:,} | {r['second_written']:,} |")
    if args.baseline:
        table += ["", "| customers | strata run | baseline run | strata / baseline | strata peak RSS | baseline peak RSS | same segments |",
                  "|---:|---:|---:|---:|---:|---:|:---:|"]
        for r in rows:
            table.append(f"| {r['customers']:,} | {r['strata']:.2f} s | {r['baseline']:.2f} s | "
                         f"{r['strata'] / r['baseline']:.3f} | {r['rss']:.0f} MiB | {r['baseline_rss']:.0f} MiB | "
                         f"{'yes' if r['baseline_same'] else 'no'} |")
    table = duckdb_contender.add_columns(table, rows)
    table += incremental_bench.table(rows)
    print("\n".join(table))
    if args.write_doc:
        path = os.path.join(ROOT, "docs", "performance.md")
        text = open(path).read()
        begin, end = "<!-- figures -->", "<!-- /figures -->"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        cmd = "python3 bench/run.py --sizes " + args.sizes + " --repeat " + str(args.repeat)
        if args.baseline:
            cmd += " --baseline BASELINE"
        note = " (best of the repeats; sizes above 1M run once)" if args.repeat > 1 else ""
        stamp = time.strftime("%Y-%m-%d", time.gmtime())
        block = f"{begin}\nMeasured {stamp} with `{cmd}` on the 2-core machine{note}:\n\n" + "\n".join(table) + f"\n{end}"
        open(path, "w").write(head + block + tail)
    if args.eval_latency:
        import latency
        latency.measure_sizes([int(s) for s in args.sizes.split(",")])
    if not all(r["agree"] for r in rows):
        sys.exit(1)
    if not duckdb_contender.all_agree(rows):
        sys.exit(1)
    if not incremental_bench.all_same(rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
