#!/usr/bin/env bash
# The main job on the example data. Called by `make demo` after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
"$build/strata" check rules/*.yaml
