#!/usr/bin/env bash
# Runs a doctest binary's test cases in two halves at once (ordered by name), one per core,
# and fails when either half fails; both halves' output is printed, the first half's first.
# `make asan` uses it: the sanitizers make the suite several times slower, and doctest runs
# one test case at a time.
#   scripts/test-halves.sh BINARY [doctest options...]
set -uo pipefail
binary=$1
shift
count=$("$binary" --count "$@" 2>&1 | grep -o 'passing the current filters: [0-9]*' | grep -o '[0-9]*$')
if [ -z "$count" ] || [ "$count" -lt 2 ]; then
  exec "$binary" "$@"
fi
half=$(((count + 1) / 2))
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
"$binary" --order-by=name --first=1 --last="$half" "$@" >"$logs/1" 2>&1 &
first=$!
"$binary" --order-by=name --first=$((half + 1)) --last="$count" "$@" >"$logs/2" 2>&1
second=$?
wait "$first"
first=$?
cat "$logs/1" "$logs/2"
echo "test-halves: $count test cases in two halves: exit $first and $second"
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]
