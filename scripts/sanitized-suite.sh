#!/usr/bin/env bash
# `make asan`: the unit suite in two halves (scripts/test-halves.sh) and, beside it, the
# warehouse tests against real servers (scripts/test-with-warehouse.sh) but for their random
# pairs and the comparisons whose time is ClickHouse planning large queries (`make test` runs
# them all): the rest still goes through every part of the warehouse code (clients, runs,
# outboxes, claims, explanations, reports, audits) in a couple of minutes. Fails when either
# fails; each one's output is printed whole, the unit suite's first.
#
#   scripts/sanitized-suite.sh BUILD
set -uo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
long='*random pairs*,clickhouse compile*,explain inside the warehouse: the embedded*,diff inside the warehouse: the embedded*,explain inside ClickHouse*,explain inside the warehouse: records*,warehouse report: the ClickHouse model*,warehouse report: a shipped*'
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
"$scripts/test-with-warehouse.sh" "$build" --run "$build/tests/warehouse/strata_warehouse_tests" \
    "-tce=$long" >"$logs/warehouse" 2>&1 &
warehouse=$!
"$scripts/test-halves.sh" "$build/tests/strata_tests"
units=$?
wait "$warehouse"
warehouse=$?
cat "$logs/warehouse"
echo "sanitized suite: unit tests exit $units, warehouse tests exit $warehouse"
[ "$units" -eq 0 ] && [ "$warehouse" -eq 0 ]
