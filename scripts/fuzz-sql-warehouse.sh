#!/usr/bin/env bash
# The warehouse half of `make fuzz-sql`: starts a PostgreSQL and a two-shard ClickHouse
# (scripts/warehouse.sh, in a folder of their own, so a `make test` of the same build can run
# beside it), runs many random differential pairs on each, then pairs run on all four backends
# (the engine, SQLite, PostgreSQL, ClickHouse), and stops the servers whatever happens (a
# failed pair, Ctrl-C, a crash).
#
#   scripts/fuzz-sql-warehouse.sh BUILD PG_PAIRS CH_PAIRS [FOUR_PAIRS]
#
# A pair a backend gets wrong is named in the output (its number, the rule file, the as_of
# date, the compiled query) and kept in /tmp/pg_fail.*, /tmp/ch_fail.* or /tmp/four_*_fail.*
# (the base, the rules and the as_of date; tests/warehouse/warehouse_support.hpp). Exits 1
# when any pair disagreed.
set -euo pipefail
[ $# -eq 3 ] || [ $# -eq 4 ] || {
    echo "usage: scripts/fuzz-sql-warehouse.sh BUILD PG_PAIRS CH_PAIRS [FOUR_PAIRS]" >&2
    exit 2
}
scripts=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
pg_pairs=$2
ch_pairs=$3
four_pairs=${4:-0}
dir="${TMPDIR:-/tmp}/strata-fuzz-warehouse-$(printf '%s' "$build" | cksum | cut -d' ' -f1)"
log="$build/fuzz-sql-warehouse.log"

stopped=0
stop_servers() {
    [ $stopped -eq 0 ] || return 0
    stopped=1
    "$scripts/warehouse.sh" stop "$dir" || true
}
trap stop_servers EXIT
trap 'stop_servers; exit 130' INT
trap 'stop_servers; exit 143' TERM

if ! "$scripts/warehouse.sh" start "$dir"; then
    stopped=1
    exit 1
fi
eval "$("$scripts/warehouse.sh" env "$dir")"

status=0
run_pairs() {
    local name=$1 variable=$2 pairs=$3 test_case=$4 began=$EPOCHREALTIME
    [ "$pairs" -gt 0 ] || return 0
    echo "fuzz-sql: $pairs $name pairs (full output in $log.$name)"
    if ! env "$variable=$pairs" STRATA_SQL_KEEP=1 \
        "$build/tests/warehouse/strata_warehouse_tests" -tc="$test_case" >"$log.$name" 2>&1; then
        status=1
    fi
    grep -E '^(  logged: i|\[doctest\] (test cases|assertions))|ERROR' "$log.$name" || true
    awk -v a="$began" -v b="$EPOCHREALTIME" -v n="$name" \
        'BEGIN { printf "fuzz-sql: %s pairs took %.0f s\n", n, b - a }'
}
run_pairs postgres STRATA_PG_PAIRS "$pg_pairs" \
    'postgres compile: the query places every customer as the engine does (random pairs)'
run_pairs clickhouse STRATA_CH_PAIRS "$ch_pairs" \
    'clickhouse compile: the query on two shards places every customer as the engine'
run_pairs four STRATA_FOUR_PAIRS "$four_pairs" 'four backends: each random pair placed alike*'
exit $status
