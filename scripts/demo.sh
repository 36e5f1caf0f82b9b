#!/usr/bin/env bash
# The main job on the example data, called by `make demo` after the build. Two demo bases, each
# segmented twice against its own state, a month apart:
# 1. a retail base (fixed seed) under the shipped retail RFM rules at 2026-11-01 (the base's
#    today), then the same base 30 days later (`demo-data --advance 30d`) at 2026-12-01: the
#    second run prints who moved where; then the stored runs, the export for the CRM and the
#    HTML report of the second run (build/demo-report.html); then a day's orders read by an
#    incremental run, and one customer evaluated alone (`strata eval`);
# 2. a car dealer's base under the lifecycle rules (prospect -> lead -> owner -> owner ready to
#    replace), at the same two dates.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
strata="$build/strata"
db="$build/demo-retail.db"
later="$build/demo-retail-2026-12-01.db"
state="$build/demo-state.db"
# The demo's own files, written afresh (demo-data replaces only a demo base without runs).
rm -f "$db" "$later" "$state" "$build/demo-auto.db" "$build/demo-auto-2026-12-01.db"
"$strata" demo-data --kind retail --customers 20000 --out "$db"
# The demo base's "today" is 2026-11-01; the shipped rules leave the date to the run.
"$strata" run rules/retail-rfm.yaml --db "$db" --as-of 2026-11-01 --state "$state"
echo
echo "A month later: the same base plus November's orders and new customers."
"$strata" demo-data --kind retail --customers 20000 --advance 30d --out "$later"
"$strata" run rules/retail-rfm.yaml --db "$later" --as-of 2026-12-01 --state "$state"
echo
echo "Stored runs ('strata runs --db $later --state $state'):"
"$strata" runs --db "$later" --state "$state"
echo
echo "Export for the CRM (first rows of 'strata export rules/retail-rfm.yaml --db $later --state $state'):"
"$strata" export rules/retail-rfm.yaml --db "$later" --state "$state" >"$build/demo-export.csv"
head -5 "$build/demo-export.csv"
echo
echo "Actions the triggers enqueued for senders (first of 'strata outbox list --db $later --state $state --status pending'):"
# Through a file, as the export above: `head` closing the pipe early would end the script
# (SIGPIPE under pipefail).
"$strata" outbox list --db "$later" --state "$state" --status pending >"$build/demo-outbox.txt"
head -4 "$build/demo-outbox.txt"
echo
echo "The report of the second run for people ('strata report --db $later --state $state --out $build/demo-report.html'):"
"$strata" report --db "$later" --state "$state" --out "$build/demo-report.html"
echo "Open $(cd "$build" && pwd)/demo-report.html in a browser (one file, works offline)."

echo
echo "Daily runs read only what changed ('strata run --incremental', docs/incremental.md): the first"
echo "one watches the orders table and is a full run; after a day of orders the next reads only those:"
"$strata" run rules/retail-rfm.yaml --db "$later" --as-of 2026-12-01 --state "$state" --incremental \
    >/dev/null
sqlite3 "$later" "INSERT INTO orders (customer_id, order_date, amount, category, items)
    SELECT customer_id, '2026-12-01', amount, category, items FROM orders
    WHERE customer_id % 50 = 7 AND order_date >= '2026-11-01'"
"$strata" run rules/retail-rfm.yaml --db "$later" --as-of 2026-12-01 --state "$state" --incremental \
    -v 2>"$build/demo-incremental.log" >/dev/null
grep -F 'incremental:' "$build/demo-incremental.log" | sed 's/^.*\] /  /' ||
    cat "$build/demo-incremental.log"
echo
echo "One customer now, from their own rows with the latest run's thresholds"
echo "('strata eval rules/retail-rfm.yaml --db $later --state $state --customer 46'; docs/eval.md):"
"$strata" eval rules/retail-rfm.yaml --db "$later" --state "$state" --customer 46

echo
echo "A car dealer's lifecycle (rules/auto-lifecycle.yaml), at 2026-11-01 and a month later:"
auto_db="$build/demo-auto.db"
auto_later="$build/demo-auto-2026-12-01.db"
auto_state="$build/demo-auto-state.db"
"$strata" demo-data --kind auto --customers 20000 --out "$auto_db"
"$strata" demo-data --kind auto --customers 20000 --advance 30d --out "$auto_later"
rm -f "$auto_state"
"$strata" run rules/auto-lifecycle.yaml --db "$auto_db" --as-of 2026-11-01 --state "$auto_state" \
    >/dev/null
"$strata" run rules/auto-lifecycle.yaml --db "$auto_later" --as-of 2026-12-01 --state "$auto_state"
