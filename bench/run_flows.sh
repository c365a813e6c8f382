#!/usr/bin/env bash
# run_flows.sh — flow-model training benchmarks: bench_flows (genmod) next to
# bench/torch_flows.py (PyTorch, the same models layer for layer), ROUNDS
# rounds (default 3) with the order of the two processes alternating, OpenMP
# OpenBLAS, OPENBLAS_CORETYPE as the caller has it (stated on the first line and
# recorded in every JSON line). Cases: affine784 (flow2d D=784, 8 affine
# couplings, MLP 392-1024-1024-784, B=100), flow2d (D=2, MLP 1-256-256-2,
# B=1024), realnvp (1x28x28, --features 16 --blocks 1 --inv1x1 lu --actnorm 1
# --scales 3, B=64); see the headers of bench/bench_flows.c and bench/torch_flows.py.
#
# First `bench_flows --dump` writes genmod's initial parameters, the batch, its
# loss and gradients to $OUT/weights/; torch_flows.py checks its loss (and
# gradients) against them before timing (a {"bench":"flow_check"} line per case
# and round) and starts every variant from those weights.
# Each process runs through bench/engine_tool.py, which adds others_cpu (cores
# used by other processes meanwhile: the noise) to every line; before each
# process the driver waits up to GM_BENCH_WAIT_QUIET s for a quiet machine.
# Prints a table of medians pooled over all repetitions of all rounds, items/s,
# GFLOP/s, % of the 157 GFLOP/s 2-core peak (and of 480), and genmod / torch
# throughput ratios (against the fastest torch variant and against eager);
# writes $OUT/raw.jsonl, $OUT/machine.txt and $OUT/summary.md. Dev-only (needs
# torch and the safetensors package); not run by CI.
# Environment: GM_BENCH_BUILD (build-bench), GM_BENCH_OUT ($GM_BENCH_BUILD/flow_results),
# GM_BENCH_ROUNDS (3), GM_BENCH_THREADS (2), GM_BENCH_REPS (7), GM_BENCH_MIN_S (0.3),
# GM_BENCH_ONLY (e.g. "affine784 realnvp"), GM_BENCH_NO_COMPILE=1 (skip torch.compile),
# GM_BENCH_NO_BUILD=1, GM_BENCH_JOBS (build parallelism, 2), GM_BENCH_WAIT_QUIET (20; 0 = off),
# GM_BENCH_SKIP_TORCH=1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GM_BENCH_BUILD:-$ROOT/build-bench}
OUT=${GM_BENCH_OUT:-$BUILD/flow_results}
ROUNDS=${GM_BENCH_ROUNDS:-3}
export GM_BENCH_THREADS=${GM_BENCH_THREADS:-2} GM_BENCH_REPS=${GM_BENCH_REPS:-7} GM_BENCH_MIN_S=${GM_BENCH_MIN_S:-0.3}
ONLY=${GM_BENCH_ONLY:-affine784 flow2d realnvp}
WAIT=${GM_BENCH_WAIT_QUIET:-20}
if [[ -z ${GM_BENCH_NO_BUILD:-} ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGENMOD_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j"${GM_BENCH_JOBS:-2}" --target bench_flows >/dev/null
fi
mkdir -p "$OUT/weights"
RAW=$OUT/raw.jsonl
: >"$RAW"
LIB=/usr/lib/x86_64-linux-gnu/openblas-openmp
[[ -d $LIB ]] && export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMP_NUM_THREADS=$GM_BENCH_THREADS
# inductor compiles in-process (no worker pool competing for the 2 cores or counted as noise)
export TORCHINDUCTOR_COMPILE_THREADS=1
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) CPUs; date $(date -u +%FT%TZ);" \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; threads $GM_BENCH_THREADS; rounds $ROUNDS x $GM_BENCH_REPS reps" \
     | tee "$OUT/machine.txt" >&2
TOOL=(python3 "$ROOT/bench/engine_tool.py")
quiet() { if (( WAIT > 0 )); then "${TOOL[@]}" wait-quiet --max-s "$WAIT" || true; fi; }
"$BUILD/bench_flows" --dump "$OUT/weights" $ONLY >>"$RAW"
TORCH_ARGS=(--only "$(echo $ONLY | tr ' ' ,)" --weights "$OUT/weights")
[[ -n ${GM_BENCH_NO_COMPILE:-} ]] && TORCH_ARGS+=(--no-compile)
for r in $(seq 1 "$ROUNDS"); do
  export GM_BENCH_ROUND=$r
  g() { quiet; "${TOOL[@]}" run --out "$RAW" --round "$r" --config genmod -- "$BUILD/bench_flows" $ONLY; }
  t() {
    [[ -n ${GM_BENCH_SKIP_TORCH:-} ]] && return 0
    quiet; "${TOOL[@]}" run --out "$RAW" --round "$r" --config torch -- python3 "$ROOT/bench/torch_flows.py" "${TORCH_ARGS[@]}"
  }
  if (( r % 2 )); then g; t; else t; g; fi
  echo "round $r done" >&2
done
python3 - "$RAW" "$OUT/machine.txt" <<'PY' | tee "$OUT/summary.md"
import collections, json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("# Flow training benchmarks (bench/run_flows.sh)\n")
print(open(sys.argv[2]).read().strip() + "\n")
PEAK, PEAK2 = 157.0, 480.0
GOAL = {"affine784": 2.0, "flow2d": 2.0, "realnvp": 1.5}
checks = [d for d in rows if d["bench"] == "flow_check"]
if checks:
    print("## Correctness (genmod's initial weights and batch; realnvp without dequantization noise)\n")
    print("| case | round | genmod loss | torch loss | rel. err | grad max rel. err (worst tensor) | ok |")
    print("|---|---|---|---|---|---|---|")
    for d in checks:
        print(f'| {d["case"]} | {d["round"]} | {d["loss_genmod"]:.7g} | {d["loss_torch"]:.7g} | {d["loss_rel_err"]:.2e} '
              f'| {d["grad_max_rel_err"]:.2e} ({d["grad_worst_param"]}) | {"yes" if d["ok"] else "**NO**"} |')
    print()
samples, info, noise, nfail = collections.defaultdict(list), {}, collections.defaultdict(list), collections.Counter()
for d in rows:
    if not d["bench"].endswith("_train_step"):
        continue
    key = (d["case"], d["impl"])
    if d.get("failed"):
        nfail[key] += 1
    samples[key] += d["samples_s"]
    info[key] = d
    noise[key].append(d.get("others_cpu", float("nan")))
print("## Training step (medians of all repetitions of all rounds)\n")
print("impl: genmod; torch = PyTorch eager; torch_compile = forward + loss under torch.compile (inductor, default "
      "mode); *_cl = realnvp with weights and input in channels_last. GFLOP/s: nominal, 6 x forward MACs of the "
      "matmuls / convs (bench_flows.c). others_cpu: cores used by other processes during that process (noise).\n")
print("| case | impl | ms/step | items/s | GFLOP/s | % of 157 | % of 480 | genmod speed-up vs this | samples | others_cpu max | failed |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
med = {k: statistics.median(v) for k, v in samples.items()}
cases = list(dict.fromkeys(c for c, _ in med))
for case in cases:
    g = med.get((case, "genmod"))
    for (c, impl), m in med.items():
        if c != case:
            continue
        d = info[(c, impl)]
        gf = d["nominal_flops"] / m / 1e9
        sp = f"{m / g:.2f}x" if g and impl != "genmod" else ""
        print(f'| {case} | {impl} | {1e3 * m:.2f} | {d["batch"] / m:.1f} | {gf:.1f} | {100 * gf / PEAK:.1f} | '
              f'{100 * gf / PEAK2:.1f} | {sp} | {len(samples[(c, impl)])} | {max(noise[(c, impl)]):.2f} | '
              f'{nfail[(c, impl)]} |')
print("\n## genmod / PyTorch, training items/s\n")
print("| case | genmod items/s | fastest torch (items/s) | ratio vs fastest | torch eager items/s | ratio vs eager | goal | met |")
print("|---|---|---|---|---|---|---|---|")
for case in cases:
    g = med.get((case, "genmod"))
    torch = {i: m for (c, i), m in med.items() if c == case and i != "genmod"}
    if not g or not torch:
        continue
    bi = min(torch, key=torch.get)
    B = info[(case, "genmod")]["batch"]
    r = torch[bi] / g
    e = torch.get("torch")
    print(f'| {case} | {B / g:.1f} | {bi} ({B / torch[bi]:.1f}) | **{r:.2f}x** | '
          f'{B / e:.1f} | {e / g:.2f}x | >= {GOAL.get(case, 0):.1f}x | {"yes" if r >= GOAL.get(case, 0) else "no"} |'
          if e else f'| {case} | {B / g:.1f} | {bi} | {r:.2f}x | | | {GOAL.get(case, 0)} | |')
PY
