#!/usr/bin/env bash
# The main job on the example data, called by `make demo` after the build: make a retail demo
# base (fixed seed) and segment it with the shipped retail RFM rules.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
db="$build/demo-retail.db"
"$build/strata" demo-data --kind retail --customers 20000 --out "$db"
rm -f "$build/demo-state.db"
# The demo base's "today" is 2026-11-01; the shipped rules leave the date to the run.
"$build/strata" run rules/retail-rfm.yaml --db "$db" --as-of 2026-11-01 --state "$build/demo-state.db"
echo
echo "Export for the CRM (first rows of 'strata export rules/retail-rfm.yaml --db $db --state $build/demo-state.db'):"
"$build/strata" export rules/retail-rfm.yaml --db "$db" --state "$build/demo-state.db" >"$build/demo-export.csv"
head -5 "$build/demo-export.csv"
