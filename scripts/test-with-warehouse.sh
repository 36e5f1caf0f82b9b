#!/usr/bin/env bash
# `make test`: starts the warehouse servers (scripts/warehouse.sh), runs the whole ctest suite
# of BUILD with their URLs in the environment, and stops them whatever happens (a failed test,
# Ctrl-C, a crash of a test). Extra arguments go to ctest; after --run, they are a command to
# run instead of ctest (in BUILD, with the same environment).
#
#   scripts/test-with-warehouse.sh BUILD [ctest arguments...]
#   scripts/test-with-warehouse.sh BUILD --run COMMAND [arguments...]
#
# The servers' folder is named after the build folder, so an interrupted run's servers are
# stopped by the next run of the same checkout, and two checkouts test side by side.
set -euo pipefail
[ $# -ge 1 ] || {
    echo "usage: scripts/test-with-warehouse.sh BUILD [ctest arguments...]" >&2
    exit 2
}
scripts=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
shift
dir="${TMPDIR:-/tmp}/strata-warehouse-$(printf '%s' "$build" | cksum | cut -d' ' -f1)"

stopped=0
stop_servers() {
    [ $stopped -eq 0 ] || return 0
    stopped=1
    local began=$EPOCHREALTIME
    "$scripts/warehouse.sh" stop "$dir" || true
    awk -v a="$began" -v b="$EPOCHREALTIME" \
        'BEGIN { printf "warehouse servers stopped in %.1f s\n", b - a }' >&2
}
trap stop_servers EXIT
trap 'stop_servers; exit 130' INT
trap 'stop_servers; exit 143' TERM

started=$EPOCHREALTIME
if ! "$scripts/warehouse.sh" start "$dir"; then
    # It stopped what it had started and kept the logs it named in $dir.
    stopped=1
    exit 1
fi
awk -v a="$started" -v b="$EPOCHREALTIME" -v d="$dir" \
    'BEGIN { printf "warehouse servers started in %.1f s (%s)\n", b - a, d }' >&2
eval "$("$scripts/warehouse.sh" env "$dir")"

cd "$build"
if [ "${1:-}" = "--run" ]; then
    shift
    "$@"
else
    ctest --output-on-failure "$@"
fi
