#!/usr/bin/env python3
"""Serving while a batch run is stored: the library call's latency (Engine::evaluate) while
`strata run` stores a run into the same state file, with the state in SQLite's default
rollback-journal mode and in WAL mode.

For each base size (the retail bases bench/run.py caches in build/bench/), one run of
bench/retail-bench.yaml makes a state file in a temporary folder. Then, per journal mode, a
copy of it set to that mode: build/bench/strata_eval_latency times --samples calls over random
customers, and as its timed calls start, `strata run` stores a run as of the next day into the
same state. Prints each mode's p50, p99 and longest call, and how long the run took.

Usage: python3 bench/serving.py [--sizes 1000000] [--samples 150000]
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from latency import index_and_max_key

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, "build", "strata")
LIBRARY_BENCH = os.path.join(ROOT, "build", "bench", "strata_eval_latency")
RULES = os.path.join(ROOT, "bench", "retail-bench.yaml")


def measure(db, state, max_key, samples):
    """Times the calls; starts the run when they start. Returns (latency JSON, run seconds)."""
    bench = subprocess.Popen([LIBRARY_BENCH, RULES, db, "--state", state, "--samples", str(samples),
                              "--max-key", str(max_key)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = []
        for line in bench.stderr:
            said.append(line)
            if line.startswith("timing"):
                break
        else:
            sys.exit("strata_eval_latency ended before its timed calls: " + "".join(said))
        began = time.perf_counter()
        run = subprocess.run([STRATA, "run", RULES, "--db", db, "--state", state, "--as-of",
                              "2026-11-02"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        run_seconds = time.perf_counter() - began
        if run.returncode != 0:
            sys.exit(f"strata run failed beside the calls: {run.stderr}")
        if bench.poll() is not None:
            print(f"note: the timed calls ended before the run did ({run_seconds:.1f} s): give more "
                  f"--samples, or the longest wait may be missed", file=sys.stderr)
        out, err = bench.communicate()
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    # Exit code 1: some calls failed (a wait past the busy timeout); the figures still count.
    if bench.returncode not in (0, 1) or not out.strip():
        sys.exit(f"strata_eval_latency failed: {''.join(said)}{err}")
    return json.loads(out), run_seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--samples", type=int, default=150000)
    args = ap.parse_args()
    for path in (STRATA, LIBRARY_BENCH):
        if not os.path.exists(path):
            sys.exit("build first: cmake --build build --target strata strata_eval_latency")
    rows = []
    for customers in [int(s) for s in args.sizes.split(",")]:
        db = os.path.join(ROOT, "build", "bench", f"retail-{customers}.db")
        if not os.path.exists(db):
            sys.exit(f"{db} is missing: python3 bench/run.py --sizes {customers} makes it")
        with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "build", "bench")) as folder:
            first = os.path.join(folder, "first.db")
            subprocess.run([STRATA, "run", RULES, "--db", db, "--state", first, "--as-of", "2026-11-01"],
                           check=True, stdout=subprocess.DEVNULL)
            max_key = index_and_max_key(db, first)
            for mode in ("delete", "wal"):
                state = os.path.join(folder, f"state-{mode}.db")
                shutil.copyfile(first, state)
                con = sqlite3.connect(state)
                con.execute(f"PRAGMA journal_mode = {mode}")
                con.close()
                lat, run_seconds = measure(db, state, max_key, args.samples)
                rows.append((customers, mode, lat, run_seconds))
                print(f"{customers:>10,} customers  {mode:>6}  p50 {lat['p50_us']:7.1f} us  p99 "
                      f"{lat['p99_us']:7.1f} us  longest {lat['max_us'] / 1000:8.2f} ms  "
                      f"({lat['samples']:,} calls, {lat['failed']} failed; the run beside them took "
                      f"{run_seconds:.2f} s)", flush=True)
    print("| customers | state journal | p50 | p99 | longest call | calls failed | the run beside them |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for customers, mode, lat, run_seconds in rows:
        print(f"| {customers:,} | {'rollback (delete)' if mode == 'delete' else 'WAL'} | "
              f"{lat['p50_us']:.0f} µs | {lat['p99_us']:.0f} µs | {lat['max_us'] / 1000:.1f} ms | "
              f"{lat['failed']} | {run_seconds:.2f} s |")


if __name__ == "__main__":
    main()
