# The README's two commands: `make demo` and `make test`. Everything else is a helper for them.
BUILD ?= build
ASAN_BUILD ?= build-asan
WERROR ?= OFF
CMAKE_FLAGS ?=
JOBS ?= 2

.PHONY: all deps build test demo test-slow asan-test fuzz bench format lint clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DBINLAKE_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

test-slow: build
	@cd $(BUILD) && ctest --output-on-failure -L slow

asan-test: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBINLAKE_SANITIZE=ON \
	  -DBINLAKE_WERROR=$(WERROR) -DBINLAKE_TEST_MYSQL_PORT=3318 -DBINLAKE_TEST_S3_PORT=9420 >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'slow|spark' -E '^(run_random_s3|run_crash_s3_faults|large_txn)$$'

fuzz: deps
	@scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

bench: build
	@scripts/bench.sh

demo: build
	@scripts/demo.sh $(BUILD)/binlake

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

lint: build
	@scripts/lint.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
