#!/usr/bin/env bash
# run_ar.sh — autoregressive-model benchmarks: bench_ar (genmod) next to
# bench/torch_ar.py (PyTorch), ROUNDS rounds (default 3) with the order of the
# two processes alternating, OpenMP OpenBLAS, OPENBLAS_CORETYPE as the caller
# has it (recorded in every line). Prints a table of pooled medians and
# genmod/torch speed ratios (against the *fastest* torch variant of each
# benchmark) and writes $OUT/raw.jsonl and $OUT/summary.md. Dev-only (needs
# torch); not run by CI. Environment: GM_BENCH_BUILD (build-bench),
# GM_BENCH_OUT ($GM_BENCH_BUILD/ar_results), GM_BENCH_ROUNDS (3), GM_BENCH_THREADS
# (2), GM_BENCH_REPS (7), GM_BENCH_MIN_S (0.3), GM_BENCH_ONLY (e.g. "nade made").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GM_BENCH_BUILD:-$ROOT/build-bench}
OUT=${GM_BENCH_OUT:-$BUILD/ar_results}
ROUNDS=${GM_BENCH_ROUNDS:-3}
export GM_BENCH_THREADS=${GM_BENCH_THREADS:-2} GM_BENCH_REPS=${GM_BENCH_REPS:-7} GM_BENCH_MIN_S=${GM_BENCH_MIN_S:-0.3}
ONLY=${GM_BENCH_ONLY:-made made2 nade made_sample nade_sample}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGENMOD_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target bench_ar >/dev/null
mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
: >"$RAW"
LIB=/usr/lib/x86_64-linux-gnu/openblas-openmp
[[ -d $LIB ]] && export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; date $(date -u +%FT%TZ); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" | tee "$OUT/machine.txt" >&2
for r in $(seq 1 "$ROUNDS"); do
  export GM_BENCH_ROUND=$r
  g() { OMP_NUM_THREADS=$GM_BENCH_THREADS "$BUILD/bench_ar" $ONLY >>"$RAW"; }
  t() { python3 "$ROOT/bench/torch_ar.py" --only "$(echo $ONLY | tr ' ' ,)" >>"$RAW"; }
  if (( r % 2 )); then g; t; else t; g; fi
  echo "round $r done" >&2
done
python3 - "$RAW" <<'PY' | tee "$OUT/summary.md"
import json, statistics, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
med = collections.defaultdict(list)
info = {}
for d in rows:
    if d.get("failed"): print("FAILED:", d["bench"], d["impl"]); continue
    med[(d["bench"], d["impl"])].append(d["median_s"])
    info[(d["bench"], d["impl"])] = d
print("| benchmark | impl | median ms (rounds) | GFLOP/s | % peak | genmod speed-up |")
print("|---|---|---|---|---|---|")
for bench in dict.fromkeys(b for b, _ in med):
    g = statistics.median(med[(bench, "genmod")]) if (bench, "genmod") in med else None
    torch = {i: statistics.median(v) for (b, i), v in med.items() if b == bench and i != "genmod"}
    best = min(torch.values()) if torch else None
    for (b, i), v in med.items():
        if b != bench: continue
        m = statistics.median(v); d = info[(b, i)]
        gf = d.get("gflops", 0) * d["median_s"] / m if m else 0
        pk = f'{100 * gf / 157:.1f}' if i == "genmod" else ""
        ratio = f'{m / g:.2f}x slower than genmod' if i != "genmod" and g else (f'{best / g:.2f}x vs best torch' if g and best else "")
        print(f'| {b} | {i} | {1e3*m:.3f} ({len(v)}) | {gf:.1f} | {pk} | {ratio} |')
PY
