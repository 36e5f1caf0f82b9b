"""Incremental runs in the benchmark (issue 12): a daily run after 1% new orders and 1% changed
customers, `strata run --incremental` against a full run on the same data, and what the kept
aggregate state costs in the state file.

For a base it keeps (in build/bench/) a copy whose orders table is watched and a state file
after one stored run of the benchmark's rule file (made once). Each repeat starts from fresh
copies of both, appends 1% new orders (1% of the customers, every hundredth, buy again what they
bought before, on the day before as_of) and changes another 1% of the customers (email_opt_in
flipped), then times:
  - incremental: strata run --incremental (must read only the new rows)
  - full:        strata run, from the same state, on the same changed data
and checks that both give the same segments, transitions and data quality.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import time

CHANGE = """
BEGIN;
INSERT INTO orders (customer_id, order_date, amount, category, items)
  SELECT customer_id, '2026-10-31', round(amount * 1.1, 2), category, items
  FROM orders WHERE customer_id % 100 = 11;
UPDATE customers SET email_opt_in = 1 - email_opt_in WHERE customer_id % 100 = 3;
COMMIT;
"""


def _run(cmd):
    """Runs cmd; returns (seconds, stdout, stderr)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()}")
    return elapsed, proc.stdout.decode(), proc.stderr.decode()


def _run_rss(cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.decode()}")
    return elapsed, usage.ru_maxrss / 1024.0, out.decode(), err.decode()


def _kept_bytes(state):
    con = sqlite3.connect(state)
    kept = 0
    for table, column in (("strata_aggregate_blocks", "states"), ("strata_aggregate_state", "facts"),
                          ("strata_population_fits", "fit")):
        kept += con.execute(f"SELECT coalesce(sum(length({column})), 0) FROM {table}").fetchone()[0]
    con.close()
    return kept


def _membership_only_bytes(state, scratch):
    """The state file's size without the kept aggregate state: the membership it holds."""
    if os.path.exists(scratch):
        os.remove(scratch)
    con = sqlite3.connect(state)
    con.execute(f"VACUUM INTO '{scratch}'")
    con.close()
    con = sqlite3.connect(scratch)
    for table in ("strata_aggregate_blocks", "strata_aggregate_state", "strata_population_fits"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.commit()
    con.execute("VACUUM")
    con.close()
    size = os.path.getsize(scratch)
    os.remove(scratch)
    return size


def measure(strata, rules, db, customers, repeat):
    folder = os.path.dirname(db)
    watched = os.path.join(folder, f"retail-{customers}-watched.db")
    first_state = os.path.join(folder, f"state-incremental-{customers}.db")
    def prepare(again):
        if again or not os.path.exists(watched) or not os.path.exists(first_state):
            for path in (watched, first_state):
                if os.path.exists(path):
                    os.remove(path)
            con = sqlite3.connect(db)
            con.execute(f"VACUUM INTO '{watched}'")
            con.close()
            # A full run that installs the watch and keeps the state the next run starts from.
            _run([strata, "run", rules, "--db", watched, "--state", first_state, "--incremental",
                  "--format", "json"])

    prepare(False)

    work_db = os.path.join(folder, "incremental-work.db")
    work_state = os.path.join(folder, "incremental-work-state.db")
    full_db = os.path.join(folder, "incremental-full.db")
    full_state = os.path.join(folder, "incremental-full-state.db")
    best_inc = best_full = None
    same = True
    rows_read = None
    prepared_again = False
    round_ = 0
    while round_ < repeat:
        round_ += 1
        for src, dst in ((watched, work_db), (first_state, work_state), (watched, full_db),
                         (first_state, full_state)):
            shutil.copyfile(src, dst)
        for path in (work_db, full_db):
            con = sqlite3.connect(path)
            con.executescript(CHANGE)
            con.close()
        # Warm the page cache for both copies alike.
        for path in (work_db, full_db):
            subprocess.run(["sqlite3", path, "SELECT count(*) FROM orders"], stdout=subprocess.DEVNULL)
        t_inc, rss_inc, out_inc, err_inc = _run_rss(
            [strata, "run", rules, "--db", work_db, "--state", work_state, "--incremental",
             "--format", "json"])
        t_full, rss_full, out_full, _ = _run_rss(
            [strata, "run", rules, "--db", full_db, "--state", full_state, "--format", "json"])
        inc, full = json.loads(out_inc), json.loads(out_full)
        if inc["incremental"]["mode"] != "incremental":
            # A kept state from an older strata (another layout) is made again, once.
            if "layout" in (inc["incremental"]["reason"] or "") and not prepared_again:
                prepared_again = True
                prepare(True)
                round_ -= 1
                continue
            raise SystemExit("the benchmark's incremental run was a full one: " + err_inc)
        rows_read = sum(f["rows_read"] for f in inc["incremental"]["facts"])
        for key in ("segments", "transitions", "data_quality", "populations"):
            if inc[key] != full[key]:
                same = False
        if best_inc is None or t_inc < best_inc[0]:
            best_inc = (t_inc, rss_inc)
        if best_full is None or t_full < best_full[0]:
            best_full = (t_full, rss_full)
    for path in (work_db, work_state, full_db, full_state):
        os.remove(path)
    # The state the incremental runs started from (made again above if it was an older one's).
    state_bytes = os.path.getsize(first_state)
    kept = _kept_bytes(first_state)
    membership = _membership_only_bytes(first_state, os.path.join(folder, "scratch-state.db"))
    return {
        "inc": best_inc[0], "inc_rss": best_inc[1], "inc_full": best_full[0],
        "inc_full_rss": best_full[1], "inc_same": same, "inc_rows_read": rows_read,
        "state_bytes": state_bytes, "kept_bytes": kept, "membership_bytes": membership,
    }


def summary(r):
    return (f"           incremental run after 1% new orders and 1% changed customers: "
            f"{r['inc']:.2f}s (read {r['inc_rows_read']:,} new rows), full run on the same data "
            f"{r['inc_full']:.2f}s, incremental/full {r['inc'] / r['inc_full']:.3f}, "
            f"{'same result' if r['inc_same'] else 'RESULTS DIFFER'}; state file "
            f"{r['state_bytes'] / 2**20:.1f} MiB, kept aggregate state {r['kept_bytes'] / 2**20:.1f} MiB, "
            f"{r['state_bytes'] / r['membership_bytes']:.2f}x the membership alone")


def table(rows):
    out = ["", "| customers | full run | incremental run (1% new orders, 1% changed customers) | "
               "incremental / full | full peak RSS | incremental peak RSS | same result | "
               "state file | of which kept aggregate state | state / membership alone |",
           "|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['customers']:,} | {r['inc_full']:.2f} s | {r['inc']:.2f} s | "
                   f"{r['inc'] / r['inc_full']:.3f} | {r['inc_full_rss']:.0f} MiB | "
                   f"{r['inc_rss']:.0f} MiB | {'yes' if r['inc_same'] else 'NO'} | "
                   f"{r['state_bytes'] / 2**20:.1f} MiB | {r['kept_bytes'] / 2**20:.1f} MiB | "
                   f"{r['state_bytes'] / r['membership_bytes']:.2f}x |")
    return out


def all_same(rows):
    return all(r["inc_same"] for r in rows)
