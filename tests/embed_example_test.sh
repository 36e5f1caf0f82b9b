#!/bin/sh
# The embedding example (examples/embed) on a small retail base: it opens the engine, evaluates
# three customers, then again from several threads, and refreshes its thresholds (nothing was
# stored since, so they are current).
# Usage: embed_example_test.sh STRATA EXAMPLE RULES
set -eu
strata=$1 example=$2 rules=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
"$strata" demo-data --kind retail --customers 300 --out "$dir/shop.db" >/dev/null
"$strata" run "$rules" --db "$dir/shop.db" --as-of 2026-11-01 >/dev/null
"$example" "$rules" "$dir/shop.db" 1 2 3 >"$dir/first.txt"
cat "$dir/first.txt"
grep -q "as of 2026-11-01, thresholds of run 1" "$dir/first.txt"
test "$(grep -cE '^[123]: [a-z_]+ \((new|stays|moves)' "$dir/first.txt")" -eq 3
grep -q "refresh: the thresholds are current (run 1)" "$dir/first.txt"
# The state option without its path, or without a key after it, is a usage error (exit 2).
if "$example" "$rules" "$dir/shop.db" --state >/dev/null 2>&1; then exit 1; fi
set +e
"$example" "$rules" "$dir/shop.db" --state "$dir/shop.db" >/dev/null 2>&1
code=$?
set -e
test "$code" -eq 2
