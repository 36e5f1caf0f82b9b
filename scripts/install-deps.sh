#!/usr/bin/env bash
# Installs the Debian packages strata builds against, when any is missing.
# Runs apt-get only as root; otherwise it names what is missing and fails.
set -euo pipefail
packages=(cmake make g++ pkg-config tao-pegtl-dev libyaml-cpp-dev libsqlitecpp-dev libsqlite3-dev
          libspdlog-dev libfmt-dev doctest-dev libcli11-dev libre2-dev sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "strata: installing missing packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "strata: run as root on Debian 12, or install them yourself: apt-get install ${missing[*]}" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
