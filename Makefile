# Thin wrapper around CMake. `make demo` and `make test` each do their own set-up.
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=
BENCH_FLAGS ?=
BENCH_TASKS ?= gp copy128 copy256 copy512 copy1024
EXPERIMENTS ?= gp copy image timeseries ablations
EXPERIMENT_JOBS ?= $(shell nproc)

.PHONY: all deps configure build test test-sanitize fuzz demo bench experiments clean format format-check
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

# Issue 20: the whole suite under ASan + UBSan, in its own build directory (a debug-info -O1
# build; oneDNN's JIT code and libgomp are not instrumented); the CLI tests run the sanitized tca.
# Leak checking is off: libgomp and libhdf5 keep process-lifetime allocations that LeakSanitizer
# reports at exit.
# Result and cost on the shared 2-core machine (2026-12-06, next to two experiment runs): 389 of
# 389 tests pass; the tests take 213 s of wall time (227 s user + 134 s system CPU) at -j2
# (58 s unsanitized, measured earlier); building from scratch took 37 min at -j2 (longer when
# other builds shared the machine). Not in .ci/run: .ci/run already builds the Release tree
# twice (make test, and again on the fresh Debian root of tools/fresh-machine-test.sh) and runs
# the Slurm test, and another 40 min or more of sanitizer build and tests would bring it close to
# the 90-minute limit of a CI run on this machine. Run it before merging changes to file readers,
# writers or kernels.
SANITIZE_BUILD ?= build-sanitize
test-sanitize: deps
	@cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
	  -DTCA_SANITIZE=ON > /dev/null
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	@cd $(SANITIZE_BUILD) && OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) --timeout 1800

# Issue 20: libFuzzer targets (tests/fuzz/README.md), built with Debian's clang in their own build
# directory; each runs FUZZ_SECONDS from a copy of its seed corpus, with memory limits, and keeps
# what it finds under $(FUZZ_BUILD)/findings/TARGET.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_task_file fuzz_trees_file fuzz_checkpoint fuzz_config fuzz_timeseries_csv
fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DTCA_FUZZ=ON > /dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: build
	@bash tools/demo.sh $(BUILD)/tca

# Issues 12 and 23: train.json, infer.json and summary.md in results/bench, every suite at the
# default thread count with the copy task up to T = 1024 (issue 23's growth and memory targets);
# the training suite again data-parallel (`tca train --data-parallel 2`) in
# results/bench/data-parallel-2; each summary.md states the targets (tca bench --help for --quick,
# --suite, --threads). Then the op-layer benchmark, when that executable is built.
bench: build
	@$(BUILD)/tca bench --out results/bench --tasks $(BENCH_TASKS) $(BENCH_FLAGS)
	@$(BUILD)/tca bench --suite train --data-parallel 2 --out results/bench/data-parallel-2 \
	  --tasks $(BENCH_TASKS) $(BENCH_FLAGS)
	@if [ -x $(BUILD)/bench_core ]; then $(BUILD)/bench_core --out results/bench; fi

# Issue 19: every experiment of experiments/ (plan, run, collect into results/NAME), days of CPU on
# 2 cores (`tca sweep status results/NAME` estimates what is left). One worker pool runs the
# sweeps' runs in the order of EXPERIMENTS; finished runs are skipped and partial ones resumed, so
# it continues where a stopped one left off. A failed run is recorded and the rest go on (the
# runner's exit code 3); the tables are collected either way.
experiments: build
	@for e in $(EXPERIMENTS); do \
	  $(BUILD)/tca sweep plan --grid experiments/$$e/grid.json --out results/$$e --tca $(BUILD)/tca > /dev/null || exit $$?; \
	done
	@$(BUILD)/tca sweep run $(addprefix results/,$(EXPERIMENTS)) --all --jobs $(EXPERIMENT_JOBS); rc=$$?; \
	  if [ $$rc -ne 0 ] && [ $$rc -ne 3 ]; then exit $$rc; fi; \
	  for e in $(EXPERIMENTS); do $(BUILD)/tca sweep collect results/$$e --plots > /dev/null || exit $$?; done; \
	  exit $$rc

clean:
	rm -rf $(BUILD)

# The committed .clang-format is the layout rule (issue 21): `make format` applies it,
# `make format-check` (run by .ci/run) fails on any file that does not follow it.
FORMAT_FILES = find apps lib tests bench \( -name '*.cpp' -o -name '*.hpp' \) -print0
format: deps
	@$(FORMAT_FILES) | xargs -0 clang-format -i

format-check: deps
	@$(FORMAT_FILES) | xargs -0 clang-format --dry-run -Werror && echo "format-check: every file follows .clang-format"
