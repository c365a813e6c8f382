# Makefile — thin wrapper over CMake for the README commands.
#   make demo   train the demo model on real data, print test NLL, write a sample grid
#   make test   build and run every test (Release)
#   make test-asan   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench  engine benchmarks against PyTorch (needs python3 + torch for the reference side)
#   make fuzz   libFuzzer harnesses for every file reader (clang), FUZZ_SECONDS each
# Each target installs missing Debian packages first (scripts/install-deps.sh).
BUILD ?= build
JOBS ?= 2
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-asan bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	GENMOD=$(BUILD)/genmod scripts/demo.sh

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DGENMOD_SANITIZE=ON -DGENMOD_BENCH=OFF
	cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)

bench: build
	bash bench/run_engine.sh

fuzz:
	@scripts/install-deps.sh clang
	CC=clang cmake -S . -B $(BUILD)-fuzz -DGENMOD_FUZZ=ON -DGENMOD_BENCH=OFF
	cmake --build $(BUILD)-fuzz -j$(JOBS)
	bash fuzz/run_all.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz
