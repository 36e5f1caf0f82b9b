# The two commands of the README. Each does its own set-up on a fresh Debian 12 machine.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
DEMO_DB ?= $(BUILD)/demo-retail.db

.PHONY: all deps build demo test fuzz-sql tsan asan format tidy clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

# The whole ctest suite, with the warehouse servers the warehouse tests need (a PostgreSQL and
# a two-shard ClickHouse on 127.0.0.1, free ports) started before it and stopped after it
# whatever happens (scripts/test-with-warehouse.sh).
test: build
	@scripts/test-with-warehouse.sh $(BUILD) -j$(JOBS)

# The compiled queries against the engine on many random rule files and bases: SQL_PAIRS
# pairs on SQLite (tests/sql_compile_test.cpp), then PG_PAIRS on PostgreSQL, CH_PAIRS on
# the two-shard ClickHouse and FOUR_PAIRS each run on all four backends (tests/warehouse/),
# with servers of its own started and stopped
# around them (scripts/fuzz-sql-warehouse.sh). On the 2-core machine: about 0.15 s a SQLite
# pair, 0.2-0.6 s a PostgreSQL pair, 0.5-2 s a ClickHouse pair (ClickHouse 18.16 analysing the
# nested query). A disagreement leaves its base, rules and as_of date in /tmp/{sql,pg,ch}_fail.*.
SQL_PAIRS ?= 5000
PG_PAIRS ?= 1000
CH_PAIRS ?= 500
FOUR_PAIRS ?= 300
# SEED=N draws other pairs than make test's (and than another SEED's).
SEED ?=
fuzz-sql: export STRATA_PAIR_SEED := $(SEED)
fuzz-sql: build
	STRATA_SQL_PAIRS=$(SQL_PAIRS) STRATA_SQL_KEEP=1 $(BUILD)/tests/strata_tests -tc='compile: the SQLite query places*' 2>&1 | grep -E '^(  logged: i|\[doctest\] (test cases|assertions))|ERROR' || true
	@echo "fuzz-sql: $(SQL_PAIRS) SQLite pairs; a disagreement leaves its base and rules in /tmp/sql_fail.db and /tmp/sql_fail.yaml"
	@scripts/fuzz-sql-warehouse.sh $(BUILD) $(PG_PAIRS) $(CH_PAIRS) $(FOUR_PAIRS)

# The test suite under ThreadSanitizer (reads, aggregation and the membership writer run on
# several threads). Slow to build, so not part of `make test`.
tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_STATIC_RUNTIME=OFF \
		-DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
	@cmake --build build-tsan -j$(JOBS) --target strata_tests
	@TSAN_OPTIONS=halt_on_error=1 STRATA_SQL_PAIRS=20 build-tsan/tests/strata_tests

# The test suite and the demo under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer: the unit suite, and beside it the warehouse tests on servers of
# their own, but for their random pairs (scripts/sanitized-suite.sh). Any finding fails it:
# memory errors and undefined behaviour stop the run, leaks fail it at exit. Run before each
# landing, not in CI (.ci/run is `make test` alone, to keep it near 15 minutes). GCC's `undefined`
# leaves out float-cast-overflow (a double out of an integer's range), so it is named too.
ASAN_FLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined,float-cast-overflow
# The compiled-SQL pairs are fewer under the sanitizers (`make test` runs 300): each pair runs
# the engine twice and SQLite prepares a large query, all slower under ASan's allocator.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 STRATA_SQL_PAIRS=40
# -O1 with line tables only: reports keep file:line, and the build takes about 40% less CPU
# than -O2 -g (the suite itself runs as fast). The suite runs in two halves at once, one per
# core (scripts/test-halves.sh).
asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_STATIC_RUNTIME=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
		"-DCMAKE_CXX_FLAGS=$(ASAN_FLAGS)" "-DCMAKE_EXE_LINKER_FLAGS=$(ASAN_FLAGS)" >/dev/null
	@cmake --build build-asan -j$(JOBS) --target strata_tests strata strata_warehouse_tests
	@$(ASAN_ENV) scripts/sanitized-suite.sh build-asan
	@$(ASAN_ENV) scripts/demo.sh build-asan >/dev/null

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: build
	@clang-tidy -p $(BUILD) --quiet $$(git ls-files 'dsl/*.cpp' 'engine/*.cpp' 'cli/*.cpp' 'report/*.cpp' 'examples/*.cpp' 'tests/*.cpp')

clean:
	@rm -rf $(BUILD) build-fuzz build-tsan build-asan
