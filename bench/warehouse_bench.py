#!/usr/bin/env python3
"""The warehouse benchmark: the same segmentation embedded, in PostgreSQL 15 and in a
two-shard ClickHouse 18.16, on the same base, in one run.

For each base size it takes the cached base of bench/run.py (build/bench/retail-N.db, made
with `strata demo-data --kind retail` when missing) and, with one PostgreSQL and two ClickHouse
servers started on 127.0.0.1 by scripts/warehouse.sh (and stopped whatever happens):
  - load:       copies the base's customers and orders into PostgreSQL and into the cluster
                (build/bench/strata_warehouse_load_bench, the loaders the tests use, which
                convert every cell as the engine reads it); timed once, apart from the queries
  - strata:     strata run bench/retail-bench.yaml on the SQLite base (membership stored in
                a state file), as bench/run.py times it
  - postgres:   `strata compile --dialect postgres`, run through psql as
                CREATE TABLE bench_membership AS <query>
  - clickhouse: `strata compile --dialect clickhouse`, sent to the first shard's server over
                HTTP as CREATE TABLE bench_membership ENGINE = Log AS <query>; the customers
                and orders are Distributed tables over both shards
Each of the three materialises the membership of every customer where it ran and sends
nothing back; the times are wall times, best of --repeat. Afterwards (untimed) both tables
are read back and compared with `strata export` of the run customer by customer, and every
segment's and tactical segment's count with the run's; a difference is an error (exit 1).

Usage: python3 bench/warehouse_bench.py [--sizes 100000,1000000] [--repeat 3] [--write-doc]
"""
import argparse
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zlib

import run as bench

ROOT = bench.ROOT
STRATA = bench.STRATA
RULES = bench.RULES
AS_OF = "2026-11-01"  # the rule file's own as_of, given explicitly to every command
LOADER = os.path.join(ROOT, "build", "bench", "strata_warehouse_load_bench")
WAREHOUSE = os.path.join(ROOT, "scripts", "warehouse.sh")
CLUSTER = "strata_two_shards"
CLICKHOUSE_DATABASE = "strata_bench"
# The PostgreSQL session's memory for sorts and hashes (the server's default is 4 MB, which
# sends the query's sorts of 1M rows to disk); the server otherwise runs as warehouse.sh starts it.
PG_WORK_MEM = "1GB"
# ClickHouse's limit per query (warehouse.sh's profile sets 4 GB); the machine has 24 GB.
CLICKHOUSE_MAX_MEMORY = str(12 * 10**9)


class Servers:
    """The three servers of scripts/warehouse.sh in a folder of this checkout's own."""

    def __init__(self):
        self.dir = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                f"strata-bench-warehouse-{zlib.crc32(ROOT.encode()):08x}")
        self.env = None

    def start(self):
        subprocess.run([WAREHOUSE, "start", self.dir], check=True)
        text = subprocess.run([WAREHOUSE, "env", self.dir], check=True, capture_output=True,
                              text=True).stdout
        self.env = dict(line[len("export "):].split("=", 1) for line in text.splitlines()
                        if line.startswith("export "))

    def stop(self):
        subprocess.run([WAREHOUSE, "stop", self.dir], check=False)

    @property
    def postgres(self):
        return self.env["STRATA_TEST_POSTGRES_URL"]

    def clickhouse(self, shard):
        """clickhouse://host:port/strata_bench of shard 1 or 2."""
        url = self.env["STRATA_TEST_CLICKHOUSE_URL" + ("" if shard == 1 else "_2")]
        return url.rsplit("/", 1)[0] + "/" + CLICKHOUSE_DATABASE

    def clickhouse_http(self):
        """http://host:port/ of the first shard, which receives the queries."""
        return "http://" + urllib.parse.urlsplit(self.clickhouse(1)).netloc + "/"

    def clickhouse_peak_rss_mib(self, shard):
        """The shard server's peak resident memory since it started (VmHWM), in MiB."""
        try:
            with open(os.path.join(self.dir, f"ch{shard}", "pid")) as f:
                pid = f.read().strip()
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return float("nan")


def clickhouse(servers, sql, settings=None):
    """POSTs one statement to the first shard; returns the answer's text (TabSeparated)."""
    params = {"database": CLICKHOUSE_DATABASE, "wait_end_of_query": "1",
              "max_memory_usage": CLICKHOUSE_MAX_MEMORY}
    params.update(settings or {})
    request = urllib.request.Request(servers.clickhouse_http() + "?" + urllib.parse.urlencode(params),
                                     data=sql.encode(), method="POST")
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.read().decode()
    except urllib.error.HTTPError as e:
        sys.exit(f"ClickHouse: {e.read().decode().strip()}\nstatement: {sql[:300]}")


def psql(servers, script):
    """Runs a psql script (stops at the first error); returns (seconds, unaligned output)."""
    start = time.perf_counter()
    proc = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                           "-d", servers.postgres], input=script, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"psql failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed, proc.stdout


def compiled(dialect, url):
    _, sql = bench.measure([STRATA, "compile", RULES, "--dialect", dialect, "--db", url, "--as-of", AS_OF])
    return sql.strip().rstrip(";")


def load(db, urls):
    _, out = bench.measure([LOADER, db] + urls)
    return json.loads(out)


def membership(tsv):
    """Rows 'key<TAB>segment<TAB>tactical' as {key: (segment, tactical)}; NULL (\\N) as None."""
    rows = {}
    for line in tsv.splitlines():
        key, segment, tactical = line.split("\t")
        rows[key] = (None if segment in ("\\N", "") else segment, "" if tactical == "\\N" else tactical)
    return rows


def counts(rows):
    """Customers per segment and per tactical segment, as the run's report counts them."""
    result = {}
    for segment, tactical in rows.values():
        result[segment] = result.get(segment, 0) + 1
        for tag in filter(None, tactical.split(";")):
            result[tag] = result.get(tag, 0) + 1
    return result


def differences(engine_rows, other_rows, engine_counts):
    """What differs: counts first, then a few customers; empty when everything agrees."""
    found = []
    other_counts = counts(other_rows)
    for k in sorted(set(engine_counts) | set(other_counts), key=str):
        if engine_counts.get(k, 0) != other_counts.get(k, 0):
            found.append(f"{k}: strata {engine_counts.get(k, 0):,}, here {other_counts.get(k, 0):,}")
    if len(engine_rows) != len(other_rows):
        found.append(f"{len(engine_rows):,} customers in strata's export, {len(other_rows):,} here")
    differing = [k for k in engine_rows if engine_rows[k] != other_rows.get(k)]
    for k in differing[:5]:
        found.append(f"customer {k}: strata {engine_rows[k]}, here {other_rows.get(k)}")
    if differing:
        found.append(f"{len(differing):,} customers placed differently")
    return found


def run_size(servers, customers, repeat):
    db = os.path.join(ROOT, "build", "bench", f"retail-{customers}.db")
    state = os.path.join(ROOT, "build", "bench", f"state-warehouse-{customers}.db")
    if not os.path.exists(db):
        print(f"generating {customers:,} customers ...", file=sys.stderr)
        subprocess.run([STRATA, "demo-data", "--kind", "retail", "--customers", str(customers), "--out", db],
                       check=True, stdout=subprocess.DEVNULL)
    bench.measure(["sqlite3", db, bench.FLOOR])  # the page cache warm, as in run.py
    print(f"{customers:,} customers: loading into PostgreSQL ...", file=sys.stderr, flush=True)
    pg_load = load(db, [servers.postgres])
    print(f"{customers:,} customers: loading into ClickHouse ...", file=sys.stderr, flush=True)
    ch_load = load(db, [servers.clickhouse(1) + "?cluster=" + CLUSTER, servers.clickhouse(2)])

    pg_sql = compiled("postgres", servers.postgres)
    ch_sql = compiled("clickhouse", servers.clickhouse(1) + "?cluster=" + CLUSTER)
    pg_script = (f"SET work_mem = '{PG_WORK_MEM}';\nDROP TABLE IF EXISTS bench_membership;\n"
                 f"CREATE TABLE bench_membership AS {pg_sql};\n")

    def strata():
        if os.path.exists(state):
            os.remove(state)
        return bench.measure_rss([STRATA, "run", RULES, "--db", db, "--state", state, "--as-of", AS_OF,
                                  "--format", "json"])

    def postgres():
        return psql(servers, pg_script)

    def clickhouse_query():
        clickhouse(servers, "DROP TABLE IF EXISTS bench_membership")
        start = time.perf_counter()
        clickhouse(servers, "CREATE TABLE bench_membership ENGINE = Log AS " + ch_sql)
        return time.perf_counter() - start, None

    # `strata run` inside each server: a first run of the ruleset (the state tables dropped
    # before, untimed), which evaluates there and stores the membership there as stays.
    ch_url = servers.clickhouse(1) + "?cluster=" + CLUSTER

    def postgres_run():
        psql(servers, "DROP VIEW IF EXISTS strata_membership;\nDROP TABLE IF EXISTS strata_outbox, "
                      "strata_stays, strata_segments, strata_rulesets, strata_runs, strata_versions "
                      "CASCADE;\n")
        return bench.measure([STRATA, "run", RULES, "--db", servers.postgres, "--as-of", AS_OF,
                              "--format", "json"])

    def clickhouse_run():
        for table in ("strata_runs", "strata_stays", "strata_stay_exits", "strata_run_levels",
                      "strata_run_segments", "strata_versions"):
            clickhouse(servers, "DROP TABLE IF EXISTS " + table)
        return bench.measure([STRATA, "run", RULES, "--db", ch_url, "--as-of", AS_OF, "--format", "json"])

    # Interleaved, so that a noisy moment of the shared machine hits all of them alike.
    timings = [(strata(), postgres(), clickhouse_query(), postgres_run(), clickhouse_run())
               for _ in range(repeat)]
    t_strata, rss, report = min((t[0] for t in timings), key=lambda r: r[0])
    t_pg = min(t[1][0] for t in timings)
    t_ch = min(t[2][0] for t in timings)
    t_pg_run = min(t[3][0] for t in timings)
    t_ch_run = min(t[4][0] for t in timings)

    # Customer by customer: strata's export of the stored run against both tables (untimed).
    _, exported = bench.measure([STRATA, "export", RULES, "--db", db, "--state", state, "--raw",
                                 "--columns", "key,segment,tactical"])
    reader = csv.reader(io.StringIO(exported))
    next(reader)
    engine_rows = {key: (segment or None, tactical) for key, segment, tactical in reader}
    engine_counts = bench.segment_counts(report)
    _, pg_tsv = psql(servers, "SELECT customer_key, segment, tactical FROM bench_membership;\n")
    ch_tsv = clickhouse(servers, "SELECT customer_key, segment, tactical FROM bench_membership FORMAT TabSeparated")
    pg_diff = differences(engine_rows, membership(pg_tsv), engine_counts)
    ch_diff = differences(engine_rows, membership(ch_tsv), engine_counts)
    # The runs inside the servers: their exports must be the embedded run's, byte for byte.
    _, lite_export = bench.measure([STRATA, "export", RULES, "--db", db, "--state", state])
    for name, url, diff in (("PostgreSQL", servers.postgres, pg_diff), ("ClickHouse", ch_url, ch_diff)):
        _, exported_there = bench.measure([STRATA, "export", RULES, "--db", url])
        if exported_there != lite_export:
            diff.append(f"strata export of the run inside {name} differs from the embedded run's")
    _, orders = psql(servers, "SELECT count(*) FROM orders;\n")
    return {
        "customers": customers, "orders": int(orders), "strata": t_strata, "rss": rss,
        "postgres": t_pg, "clickhouse": t_ch, "postgres_run": t_pg_run, "clickhouse_run": t_ch_run,
        "postgres_load": pg_load["seconds"], "clickhouse_load": ch_load["seconds"],
        "loaded_rows": pg_load["rows"], "clickhouse_rows": ch_load["rows"],
        "clickhouse_rss": [servers.clickhouse_peak_rss_mib(1), servers.clickhouse_peak_rss_mib(2)],
        "postgres_diff": pg_diff, "clickhouse_diff": ch_diff,
    }


def table(rows):
    lines = ["| customers | orders | strata run (SQLite) | PostgreSQL query | ClickHouse query, 2 shards "
             "| PostgreSQL / strata | ClickHouse / strata | `strata run` inside PostgreSQL "
             "| `strata run` inside ClickHouse | load into PostgreSQL | load into ClickHouse "
             "| same placement, customer by customer |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for r in rows:
        same = ("yes" if not r["postgres_diff"] else "NO (PostgreSQL)") if not r["clickhouse_diff"] else \
            ("NO (ClickHouse)" if not r["postgres_diff"] else "NO (both)")
        lines.append(f"| {r['customers']:,} | {r['orders']:,} | {r['strata']:.2f} s | {r['postgres']:.2f} s | "
                     f"{r['clickhouse']:.2f} s | {r['postgres'] / r['strata']:.1f} | "
                     f"{r['clickhouse'] / r['strata']:.1f} | {r['postgres_run']:.2f} s | "
                     f"{r['clickhouse_run']:.2f} s | {r['postgres_load']:.1f} s | "
                     f"{r['clickhouse_load']:.1f} s | {same} |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write-doc", action="store_true", help="rewrite the warehouse figures in docs/performance.md")
    args = ap.parse_args()
    for path, how in ((STRATA, "make build"),
                      (LOADER, "cmake --build build -j2 --target strata_warehouse_load_bench")):
        if not os.path.exists(path):
            sys.exit(f"build first: {how}")
    # A TERM (a killed job) stops the servers as Ctrl-C does: through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    servers = Servers()
    rows = []
    try:
        servers.start()
        for size in [int(s) for s in args.sizes.split(",")]:
            r = run_size(servers, size, args.repeat)
            rows.append(r)
            print(f"{r['customers']:>10,} customers {r['orders']:>11,} orders  strata {r['strata']:7.2f}s "
                  f"(peak RSS {r['rss']:.0f} MiB)  postgres {r['postgres']:7.2f}s  clickhouse {r['clickhouse']:7.2f}s  "
                  f"loads: postgres {r['postgres_load']:.1f}s, clickhouse {r['clickhouse_load']:.1f}s "
                  f"({r['loaded_rows']:,} rows)  ClickHouse servers' peak RSS "
                  + ", ".join(f"{m:.0f}" for m in r["clickhouse_rss"]) + " MiB", flush=True)
            for name in ("postgres", "clickhouse"):
                for line in r[name + "_diff"]:
                    print(f"           {name} DIFFERS: {line}", flush=True)
    finally:
        servers.stop()
    lines = table(rows)
    print("\n".join(lines))
    if args.write_doc:
        path = os.path.join(ROOT, "docs", "performance.md")
        text = open(path).read()
        begin, end = "<!-- warehouse-figures -->", "<!-- /warehouse-figures -->"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        cmd = f"python3 bench/warehouse_bench.py --sizes {args.sizes} --repeat {args.repeat}"
        stamp = time.strftime("%Y-%m-%d", time.gmtime())
        block = (f"{begin}\nMeasured {stamp} with `{cmd}` on the 2-core machine (queries best of "
                 f"{args.repeat}, loads once):\n\n" + "\n".join(lines) + f"\n{end}")
        open(path, "w").write(head + block + tail)
    if any(r["postgres_diff"] or r["clickhouse_diff"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
