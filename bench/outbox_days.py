#!/usr/bin/env python3
"""Daily runs of a trigger that fires for everyone, as the outbox grows.

python3 bench/outbox_days.py [--customers 50000] [--days 12] [--baseline OTHER_STRATA]

Each day is a stored run of bench/retail-bench.yaml with one more trigger, `on: in any` with a
cooldown of a day, a 10% holdout and a frequency cap, so every run enqueues an action for every
customer and reads the cooldown's and the cap's history. The outbox grows by the base each day.
Prints each day's wall time, what the run wrote to disk (MiB, the kernel's count of the
process's block writes: the state file, its journal and the temporary files) and the outbox's
size; with --baseline, the other binary's figures on the same day beside them (each binary
with a state file of its own, the days interleaved).
The base is cached in build/bench/.
"""
import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, "build", "strata")

TRIGGER = """frequency_cap: 3 per 7d
triggers:
  - id: daily_touch
    on: in any
    cooldown: 1d
    holdout: 10%
    actions:
      - email: { template: daily }
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=50000)
    ap.add_argument("--days", type=int, default=12)
    ap.add_argument("--baseline", help="another strata binary to time side by side")
    args = ap.parse_args()

    folder = os.path.join(ROOT, "build", "bench")
    os.makedirs(folder, exist_ok=True)
    db = os.path.join(folder, f"retail-{args.customers}.db")
    if not os.path.exists(db):
        print(f"generating {args.customers:,} customers ...", file=sys.stderr)
        subprocess.run([STRATA, "demo-data", "--kind", "retail", "--customers", str(args.customers),
                        "--out", db], check=True, stdout=subprocess.DEVNULL)
    binaries = {"strata": STRATA}
    if args.baseline:
        binaries["baseline"] = args.baseline
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules.yaml")
        with open(os.path.join(ROOT, "bench", "retail-bench.yaml")) as f:
            text = f.read()
        with open(rules, "w") as f:
            f.write(text + TRIGGER)
        states = {name: os.path.join(tmp, f"state-{name}.db") for name in binaries}
        print("| day | outbox rows before | " + " | ".join(f"{n} (s) | {n} (MiB written)" for n in binaries)
              + " |")
        print("|---|---:|" + "---:|---:|" * len(binaries))
        for day in range(1, args.days + 1):
            as_of = f"2026-11-{day:02d}"
            times = []
            rows = 0
            for name, binary in binaries.items():
                state = states[name]
                if os.path.exists(state):
                    con = sqlite3.connect(state)
                    rows = con.execute("SELECT count(*) FROM strata_outbox").fetchone()[0]
                    con.close()
                blocks = resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock
                started = time.perf_counter()
                p = subprocess.run([binary, "run", rules, "--db", db, "--state", state, "--as-of", as_of,
                                    "--format", "json"], capture_output=True, text=True)
                times.append(f"{time.perf_counter() - started:.2f}")
                written = resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock - blocks
                times.append(f"{written * 512 / 1048576:.0f}")
                if p.returncode != 0:
                    sys.exit(f"{name} on {as_of}: {p.stderr[-500:]}")
            print(f"| {as_of} | {rows:,} | " + " | ".join(times) + " |")


if __name__ == "__main__":
    main()
