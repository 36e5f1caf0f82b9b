#!/usr/bin/env bash
# Builds the front-end fuzzer with clang and runs it for FUZZ_SECONDS (60) seconds.
# Skips, saying so, when clang is not installed. Fails when the fuzzer finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
if ! command -v clang++ >/dev/null; then
  echo "fuzz smoke: skipped (clang++ is not installed)"
  exit 0
fi
# libFuzzer's runtime comes with clang's runtime package; without it there is nothing to run.
probe=$(mktemp -d)
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cpp"
if ! clang++ -fsanitize=fuzzer "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
  rm -rf "$probe"
  echo "fuzz smoke: skipped (clang's libFuzzer runtime is not installed: apt-get install libclang-rt-14-dev)"
  exit 0
fi
rm -rf "$probe"
build=build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
  # Sanitizers go on the whole front-end, not only the fuzz entry point.
  cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTRATA_FUZZ=ON -DSTRATA_TESTS=OFF -DSTRATA_STATIC_RUNTIME=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link" >/dev/null
fi
cmake --build "$build" -j2 --target strata_fuzz_frontend >/dev/null
corpus="$build/corpus"
mkdir -p "$corpus"
echo "fuzz smoke: ${seconds}s on the front-end"
"$build/fuzz/strata_fuzz_frontend" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=0 "$corpus" rules tests/golden/check tests/golden/check-db \
  >"$build/fuzz.log" 2>&1 || { tail -50 "$build/fuzz.log"; echo "fuzz smoke: FAILED"; exit 1; }
grep -E "^#[0-9]+.*DONE" "$build/fuzz.log" | tail -1 || true
echo "fuzz smoke: no crash"
