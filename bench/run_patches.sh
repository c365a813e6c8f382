#!/usr/bin/env bash
# run_patches.sh — measures the proposed changes in bench/patches/*.patch
# (dev-only). Copies the source tree to a temporary directory, applies the
# patches there (the working tree is not touched), builds the benchmarks in
# both trees, and runs current and patched binaries alternately under both
# OpenBLAS builds; prints medians and the patched/current speed-up
# (bench/engine_tool.py compare). About 3-4 minutes with the defaults.
# Environment: GM_BENCH_ROUNDS (2), GM_BENCH_REPS (7), GM_BENCH_MIN_S (0.3),
# GM_BENCH_THREADS (2), GM_BENCH_WAIT_QUIET (20), GM_BENCH_BUILD (current build, build-bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GM_BENCH_BUILD:-$ROOT/build-bench}
ROUNDS=${GM_BENCH_ROUNDS:-2}
THREADS=${GM_BENCH_THREADS:-2}
WAIT_QUIET=${GM_BENCH_WAIT_QUIET:-20}
export GM_BENCH_REPS=${GM_BENCH_REPS:-7} GM_BENCH_MIN_S=${GM_BENCH_MIN_S:-0.3}
LIBDIR=/usr/lib/x86_64-linux-gnu
TOOL=(python3 "$ROOT/bench/engine_tool.py")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/genmod-patches.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp -r "$ROOT/CMakeLists.txt" "$ROOT/include" "$ROOT/src" "$ROOT/tests" "$ROOT/bench" "$WORK/"
[[ -d $ROOT/fuzz ]] && cp -r "$ROOT/fuzz" "$WORK/"
shopt -s nullglob
patches=("$ROOT"/bench/patches/*.patch)
if [[ ${#patches[@]} -eq 0 ]]; then echo "run_patches.sh: no patches in bench/patches/ to measure" >&2; exit 0; fi
for p in "${patches[@]}"; do
  echo "== applying $(basename "$p")" >&2
  (cd "$WORK" && patch -s -p1 <"$p")
done

for tree in "$ROOT:$BUILD" "$WORK:$WORK/build"; do
  src=${tree%%:*} bld=${tree##*:}
  echo "== building benchmarks in $bld" >&2
  cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DGENMOD_BENCH=ON >/dev/null
  cmake --build "$bld" -j2 --target bench_linear bench_eltwise >/dev/null
done

RAW=$WORK/patches.jsonl
: >"$RAW"
run() { # CONFIG LIB BINARY
  [[ $WAIT_QUIET == 0 ]] || "${TOOL[@]}" wait-quiet --max-s "$WAIT_QUIET" --threshold 0.2
  env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" \
    LD_LIBRARY_PATH="$LIBDIR/openblas-$2${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "${TOOL[@]}" run --out "$RAW" --round "$r" --config "$1" -- "$3"
}
status=0
for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r/$ROUNDS" >&2
  for lib in pthread openmp; do
    run "$lib:current" "$lib" "$BUILD/bench_linear" || status=1
    run "$lib:patched" "$lib" "$WORK/build/bench_linear" || status=1
  done
  run "openmp:current" openmp "$BUILD/bench_eltwise" || status=1
  run "openmp:patched" openmp "$WORK/build/bench_eltwise" || status=1
done
"${TOOL[@]}" compare "$RAW" || status=1
exit $status
