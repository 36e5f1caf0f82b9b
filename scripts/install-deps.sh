#!/usr/bin/env bash
# Installs the Debian packages strata builds against, when any is missing (with chromium and
# its driver for the report's browser test, PostgreSQL 15 and ClickHouse for the warehouse
# tests, and npm when there is none), then the charting
# library that `strata report` inlines: `npm ci` of report/package-lock.json into
# report/node_modules (ECharts; no install scripts run).
# Runs apt-get only as root; otherwise it names what is missing and fails.
set -euo pipefail
packages=(cmake make g++ pkg-config tao-pegtl-dev libyaml-cpp-dev libsqlitecpp-dev libsqlite3-dev
          libspdlog-dev libfmt-dev doctest-dev libcli11-dev libre2-dev sqlite3 python3
          chromium chromium-driver
          libpq-dev libcurl4-openssl-dev postgresql-15 clickhouse-server clickhouse-client curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Any npm will do (Debian's, or one that came with Node.js).
command -v npm >/dev/null || missing+=(npm)
install_js() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/report"
  [ -f "$dir/node_modules/echarts/dist/echarts.min.js" ] &&
    cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed" && return 0
  echo "strata: installing the report's charting library (npm ci in report/)" >&2
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"
}
if [ ${#missing[@]} -eq 0 ]; then
  install_js
  exit 0
fi
echo "strata: installing missing packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "strata: run as root on Debian 12, or install them yourself: apt-get install ${missing[*]}" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# The packages' own services (a PostgreSQL cluster and a ClickHouse server on their standard
# ports) are not started: the tests start servers of their own (scripts/warehouse.sh). When the
# machine has no policy-rc.d, one that refuses every start is in place during the install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_js
