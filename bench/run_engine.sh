#!/usr/bin/env bash
# run_engine.sh — builds and runs genmod's engine benchmarks next to PyTorch
# (`make bench`). Dev-only: needs cmake, a C compiler, OpenBLAS and python3;
# torch is optional (skipped with a note when missing). Not run by CI.
#
# What it does, ROUNDS times (default 3):
#   torch_engine.py once, then for each OpenBLAS configuration
#   {pthread, openmp build} x {OPENBLAS_CORETYPE unset, Haswell}:
#   bench_linear, bench_adam, bench_eltwise (each interleaves its own variants
#   A,B,A,B... over GM_BENCH_REPS=7 repetitions of >= GM_BENCH_MIN_S=0.3 s).
#   The configuration order rotates every round. Every JSON line goes to
#   $OUT/raw.jsonl with the round, configuration and machine noise added
#   (bench/engine_tool.py run); the summary (medians pooled over rounds, ratios)
#   is printed and written to $OUT/summary.md.
# Environment: GM_BENCH_BUILD (build dir, default build-bench), GM_BENCH_OUT
# (default $GM_BENCH_BUILD/bench_engine), GM_BENCH_ROUNDS (3), GM_BENCH_THREADS (2),
# GM_BENCH_REPS, GM_BENCH_MIN_S, GM_BENCH_SKIP_TORCH=1, GM_BENCH_NO_BUILD=1 (use the
# binaries already in $GM_BENCH_BUILD), GM_BENCH_QUICK=1 (1 round, 3 reps of 0.1 s: a smoke test),
# GM_BENCH_BUDGET_S (540: no new round starts when it would likely end past this),
# GM_BENCH_WAIT_QUIET (20: before each process, wait up to this many seconds for
# the other processes on the machine to use <= 0.2 cores; 0 = never wait),
# GM_BENCH_QUIET (0.3: the summary's noise cut, see engine_tool.py).
# The two OpenBLAS builds are Debian's /usr/lib/x86_64-linux-gnu/openblas-{pthread,openmp}
# (same soname, switched with LD_LIBRARY_PATH); a missing one is skipped.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GM_BENCH_BUILD:-$ROOT/build-bench}
OUT=${GM_BENCH_OUT:-$BUILD/bench_engine}
ROUNDS=${GM_BENCH_ROUNDS:-3}
THREADS=${GM_BENCH_THREADS:-2}
if [[ ${GM_BENCH_QUICK:-0} == 1 ]]; then
  ROUNDS=1
  export GM_BENCH_REPS=${GM_BENCH_REPS:-3} GM_BENCH_MIN_S=${GM_BENCH_MIN_S:-0.1}
fi
export GM_BENCH_REPS=${GM_BENCH_REPS:-7} GM_BENCH_MIN_S=${GM_BENCH_MIN_S:-0.3} GM_BENCH_THREADS=$THREADS
LIBDIR=/usr/lib/x86_64-linux-gnu
TOOL=(python3 "$ROOT/bench/engine_tool.py")
BUDGET=${GM_BENCH_BUDGET_S:-540}
WAIT_QUIET=${GM_BENCH_WAIT_QUIET:-20}

if [[ ${GM_BENCH_NO_BUILD:-0} != 1 ]]; then
  echo "== building benchmarks in $BUILD" >&2
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGENMOD_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j2 --target bench_linear bench_adam bench_eltwise >/dev/null
fi
for b in bench_linear bench_adam bench_eltwise; do
  [[ -x $BUILD/$b ]] || { echo "run_engine.sh: $BUILD/$b missing (build failed?)" >&2; exit 1; }
done

mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
: >"$RAW"

configs=()
for lib in pthread openmp; do
  if [[ -e $LIBDIR/openblas-$lib/libopenblas.so.0 ]]; then
    configs+=("$lib:unset" "$lib:Haswell")
  else
    echo "note: $LIBDIR/openblas-$lib not installed, skipped" >&2
  fi
done
if [[ ${#configs[@]} -eq 0 ]]; then configs=("default:unset" "default:Haswell"); fi

have_torch=0
if [[ ${GM_BENCH_SKIP_TORCH:-0} != 1 ]] && python3 -c 'import torch' 2>/dev/null; then have_torch=1; fi
[[ $have_torch == 1 ]] || echo "note: PyTorch not available (or GM_BENCH_SKIP_TORCH=1): torch columns stay empty" >&2

{
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs online"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); rounds $ROUNDS; threads $THREADS; reps $GM_BENCH_REPS x >= $GM_BENCH_MIN_S s"
  echo "caller's OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-unset}"
} | tee "$OUT/machine.txt" >&2

# run_one ROUND CONFIG CMD... with the configuration's environment
run_one() {
  local round=$1 cfg=$2
  shift 2
  local lib=${cfg%%:*} core=${cfg##*:}
  if [[ $WAIT_QUIET != 0 ]]; then "${TOOL[@]}" wait-quiet --max-s "$WAIT_QUIET" --threshold 0.2; fi
  local -a envs=(OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" GM_BENCH_ROUND="$round" GM_BENCH_CONFIG="$cfg")
  if [[ $lib != default && $lib != torch ]]; then
    envs+=(LD_LIBRARY_PATH="$LIBDIR/openblas-$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  fi
  if [[ $core == unset ]]; then
    env -u OPENBLAS_CORETYPE "${envs[@]}" "${TOOL[@]}" run --out "$RAW" --round "$round" --config "$cfg" -- "$@" || return 1
  else
    env OPENBLAS_CORETYPE="$core" "${envs[@]}" "${TOOL[@]}" run --out "$RAW" --round "$round" --config "$cfg" -- "$@" || return 1
  fi
}

status=0
t_start=$SECONDS
n=${#configs[@]}
for ((r = 1; r <= ROUNDS; r++)); do
  elapsed=$((SECONDS - t_start))
  if ((r > 1 && elapsed + elapsed / (r - 1) > BUDGET)); then
    echo "== stopping after $((r - 1)) round(s): another would pass the ${BUDGET} s budget (GM_BENCH_BUDGET_S)" >&2
    break
  fi
  echo "== round $r/$ROUNDS" >&2
  if [[ $have_torch == 1 ]]; then
    run_one "$r" "torch:${OPENBLAS_CORETYPE:-unset}" python3 "$ROOT/bench/torch_engine.py" || status=1
  fi
  for ((k = 0; k < n; k++)); do
    cfg=${configs[$(((k + r - 1) % n))]}
    run_one "$r" "$cfg" "$BUILD/bench_linear" || status=1
    # adam and the elementwise chain call no BLAS: CORETYPE cannot matter, run them once per build
    if [[ ${cfg##*:} == unset ]]; then
      run_one "$r" "$cfg" "$BUILD/bench_adam" || status=1
      run_one "$r" "$cfg" "$BUILD/bench_eltwise" || status=1
    fi
  done
done
echo "== done in $((SECONDS - t_start)) s; raw lines in $RAW" >&2

"${TOOL[@]}" summary "$RAW" --md "$OUT/summary.md" || status=1
echo "(summary also in $OUT/summary.md)" >&2
exit $status
