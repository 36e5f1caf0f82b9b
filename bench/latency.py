#!/usr/bin/env python3
"""One customer in real time: the latency of `strata eval` and of the library call.

For each base size (the retail bases bench/run.py caches in build/bench/), after one stored
run of bench/retail-bench.yaml into a state file of its own, it measures:
  - library: Engine::evaluate over --samples random customers (build/bench/strata_eval_latency,
             one process, the engine opened once), p50 and p99; and, for the machine's own
             spread, the p99 of plain arithmetic as long as the p50 call, timed as often
  - cli:     `strata eval` over --cli-samples random customers, one process each, including
             process start, p50 and p99
The first `strata eval` on a base creates the index on orders(customer_id) it needs; that one
is not timed.

Usage: python3 bench/latency.py [--sizes 100000,1000000] [--samples 10000] [--cli-samples 1000]
(or python3 bench/run.py --eval-latency, after the run benchmark)
"""
import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, "build", "strata")
LIBRARY_BENCH = os.path.join(ROOT, "build", "bench", "strata_eval_latency")
RULES = os.path.join(ROOT, "bench", "retail-bench.yaml")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prepare(customers):
    """The base (generated when missing) and a state file with one stored run of the rules."""
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    db = os.path.join(ROOT, "build", "bench", f"retail-{customers}.db")
    state = os.path.join(ROOT, "build", "bench", f"state-eval-{customers}.db")
    if not os.path.exists(db):
        print(f"generating {customers:,} customers ...", file=sys.stderr)
        subprocess.run([STRATA, "demo-data", "--kind", "retail", "--customers", str(customers), "--out", db],
                       check=True, stdout=subprocess.DEVNULL)
    if os.path.exists(state):
        os.remove(state)
    subprocess.run([STRATA, "run", RULES, "--db", db, "--state", state, "--format", "json"],
                   check=True, stdout=subprocess.DEVNULL)
    return db, state, index_and_max_key(db, state)


def index_and_max_key(db, state):
    """Creates the lookup index the first `strata eval` needs (not timed); returns the largest
    customer key."""
    subprocess.run([STRATA, "eval", RULES, "--db", db, "--state", state, "--customer", "1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    con = sqlite3.connect(db)
    max_key = con.execute("SELECT max(customer_id) FROM customers").fetchone()[0]
    con.close()
    return max_key


def library_latency(db, state, max_key, samples):
    out = subprocess.run([LIBRARY_BENCH, RULES, db, "--state", state, "--samples", str(samples),
                          "--max-key", str(max_key)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def spawn_micros(argv):
    """Runs argv (output to /dev/null) and returns (microseconds, exit code): posix_spawn and
    waitpid, so that little of Python's own work is timed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - start) * 1e6
    os.close(devnull)
    return elapsed, os.waitstatus_to_exitcode(status)


def cli_latency(db, state, max_key, samples, seed=1):
    """`strata eval` per random customer, each a process of its own; with the same measure of
    `strata --help` (process start and the command line) and /bin/true (a process at all)."""
    draw = random.Random(seed)
    micros, start_only, nothing = [], [], []
    for _ in range(samples):
        key = str(draw.randint(1, max_key))
        elapsed, code = spawn_micros([STRATA, "eval", RULES, "--db", db, "--state", state, "--customer", key])
        if code != 0:
            sys.exit(f"strata eval failed ({code}) for customer {key}")
        micros.append(elapsed)
        start_only.append(spawn_micros([STRATA, "--help"])[0])
        nothing.append(spawn_micros(["/bin/true"])[0])
    return {"samples": samples, "p50_us": percentile(micros, 0.5), "p99_us": percentile(micros, 0.99),
            "help_p50_us": percentile(start_only, 0.5), "true_p50_us": percentile(nothing, 0.5)}


def measure_sizes(sizes, samples=10000, cli_samples=1000):
    """Measures every size; prints a line each and a Markdown table. Returns the rows."""
    if not os.path.exists(LIBRARY_BENCH):
        sys.exit("build first: cmake --build build --target strata_eval_latency strata")
    rows = []
    for customers in sizes:
        db, state, max_key = prepare(customers)
        lib = library_latency(db, state, max_key, samples)
        cli = cli_latency(db, state, max_key, cli_samples)
        rows.append((customers, lib, cli))
        print(f"{customers:>10,} customers  library p50 {lib['p50_us']:8.1f} us  p99 {lib['p99_us']:8.1f} us"
              f"  ({lib['samples']:,} calls; plain arithmetic as long as p50: p99 "
              f"{lib['steady_p99_us']:.1f} us)   strata eval p50 {cli['p50_us'] / 1000:6.2f} ms"
              f"  p99 {cli['p99_us'] / 1000:6.2f} ms  ({cli['samples']:,} processes; strata --help p50 "
              f"{cli['help_p50_us'] / 1000:.2f} ms, /bin/true p50 {cli['true_p50_us'] / 1000:.2f} ms)", flush=True)
    table = ["| customers | library p50 | library p99 | arithmetic as long as p50: its p99 | `strata eval` p50 | `strata eval` p99 | `strata --help` p50 | `/bin/true` p50 |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for customers, lib, cli in rows:
        table.append(f"| {customers:,} | {lib['p50_us']:.0f} µs | {lib['p99_us']:.0f} µs | "
                     f"{lib['steady_p99_us']:.0f} µs | "
                     f"{cli['p50_us'] / 1000:.2f} ms | {cli['p99_us'] / 1000:.2f} ms | "
                     f"{cli['help_p50_us'] / 1000:.2f} ms | {cli['true_p50_us'] / 1000:.2f} ms |")
    print("\n".join(table))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--cli-samples", type=int, default=1000)
    args = ap.parse_args()
    measure_sizes([int(s) for s in args.sizes.split(",")], args.samples, args.cli_samples)


if __name__ == "__main__":
    main()
