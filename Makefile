# Thin wrapper around CMake. `make demo` and `make test` each do their own set-up.
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=
BENCH_FLAGS ?=

.PHONY: all deps configure build test demo bench clean format
all: build

deps:
	@bash tools/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > /dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Tests run with one OpenMP thread each (platform.md: 2-thread tiny ops pay fork/join and the
# machine sometimes stalls a core), two at a time.
test: build
	@cd $(BUILD) && OMP_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS) --timeout 900

demo: build
	@bash tools/demo.sh $(BUILD)/tca

# Issue 12: train.json, infer.json and summary.md in results/bench (tca bench --help for --quick,
# --suite, --threads); then the op-layer benchmark, when that executable is built.
bench: build
	@$(BUILD)/tca bench --out results/bench $(BENCH_FLAGS)
	@if [ -x $(BUILD)/bench_core ]; then $(BUILD)/bench_core --out results/bench; fi

clean:
	rm -rf $(BUILD)

format:
	@find apps lib tests bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i
