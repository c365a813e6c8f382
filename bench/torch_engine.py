#!/usr/bin/env python3
"""torch_engine.py — PyTorch references for genmod's engine benchmarks.

Same workloads, timing protocol and JSON-lines format as bench/bench_*.c
(see bench/README.md):
  linear_fwd_bwd          nn.Linear (bias) forward + backward with a ones seed,
                          input requiring grad (three GEMMs + bias + db), for
                          (B=100, 784->500), (B=100, 500->784), (B=256, 1024->1024)
  adam_step               torch.optim.Adam over 2^20 parameters, foreach=True and
                          fused=True (if this torch supports it on CPU), interleaved
  eltwise_chain_fwd_bwd   y = sigmoid(tanh(x) * 1.7 + 0.3), backward with ones,
                          2^22 floats, rated with the same nominal 80 B/elem
Threads: torch.set_num_threads(GM_BENCH_THREADS or 2). Dev-only: needs torch.
Usage: python3 bench/torch_engine.py [--only linear,adam,eltwise]
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

import torch

REPS = max(1, min(64, int(os.environ.get("GM_BENCH_REPS", "7"))))
MIN_S = float(os.environ.get("GM_BENCH_MIN_S", "0.3")) or 0.3
THREADS = int(os.environ.get("GM_BENCH_THREADS", "2"))


def blas_info():
    cfg = torch.__config__.show()
    m = re.search(r"Intel\(R\)[^\n]*Math Kernel Library Version ([^\n]*)", cfg)
    if m:
        return "MKL " + m.group(1).strip()
    m = re.search(r"BLAS_INFO=([^,\s]*)", cfg)
    return m.group(1) if m else "unknown"


def cpu_capability():
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # older torch
        return "unknown"


class Variant:
    def __init__(self, impl, fn):
        self.impl, self.fn, self.iters, self.samples = impl, fn, 1, []

    def calibrate(self, warm):
        for _ in range(warm):
            self.fn()
        n = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                self.fn()
            dt = time.perf_counter() - t0
            if dt >= MIN_S:
                break
            scale = min(10.0, max(1.5, 1.2 * MIN_S / dt if dt > 0 else 10.0))
            n = int(n * scale) + 1
        self.iters, self.samples = n, []


def interleave(variants):
    for _ in range(REPS):
        for v in variants:
            t0 = time.perf_counter()
            for _ in range(v.iters):
                v.fn()
            v.samples.append((time.perf_counter() - t0) / v.iters)


def emit(bench, shape, v, work, unit, **extra):
    med = statistics.median(v.samples)
    d = {
        "bench": bench, "impl": v.impl, "shape": shape, "median_s": med,
        unit: (work / med / 1e9) if med > 0 else 0.0,
        "reps": len(v.samples), "iters_per_rep": v.iters, "samples_s": v.samples,
        "threads": torch.get_num_threads(), "omp_threads": torch.get_num_threads(),
        "blas_threads": torch.get_num_threads(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE") or "unset",
        "blas": blas_info(), "blas_build": "torch", "cpu_capability": cpu_capability(),
        "torch_version": torch.__version__,
        "env_omp_num_threads": os.environ.get("OMP_NUM_THREADS") or "unset",
        "env_openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS") or "unset",
        "round": os.environ.get("GM_BENCH_ROUND", "0"),
        "config": os.environ.get("GM_BENCH_CONFIG", "default"),
    }
    d.update(extra)
    print(json.dumps(d), flush=True)


def uniform(*shape):
    return torch.rand(*shape) * 2 - 1


def bench_linear():
    for B, fin, fout in ((100, 784, 500), (100, 500, 784), (256, 1024, 1024)):
        torch.manual_seed(0)
        lin = torch.nn.Linear(fin, fout)
        x = uniform(B, fin).requires_grad_(True)
        seed = torch.ones(B, fout)

        def step():
            x.grad = None
            y = lin(x)
            y.backward(seed)

        v = Variant("torch", step)
        v.calibrate(5)
        interleave([v])
        emit("linear_fwd_bwd", f"B={B},in={fin},out={fout}", v, 6.0 * B * fin * fout, "gflops")


def bench_adam():
    n = 1 << 20
    variants = []
    for mode in ("foreach", "fused"):
        torch.manual_seed(1)
        p = torch.nn.Parameter(uniform(n))
        p.grad = uniform(n)
        try:
            opt = torch.optim.Adam([p], lr=1e-3, **{mode: True})
            opt.step()
        except (RuntimeError, TypeError, ValueError) as e:
            print(f"torch_engine: Adam {mode}=True unavailable: {e}", file=sys.stderr)
            continue
        variants.append(Variant(f"torch_adam_{mode}", opt.step))
    for v in variants:
        v.calibrate(5)
    interleave(variants)
    for v in variants:
        emit("adam_step", f"n={n}", v, 28.0 * n, "gbps", bytes_per_step=28 * n)


def bench_eltwise():
    n = 1 << 22
    torch.manual_seed(2)
    x = uniform(n).requires_grad_(True)
    seed = torch.ones(n)

    def step():
        x.grad = None
        y = torch.sigmoid(torch.tanh(x) * 1.7 + 0.3)
        y.backward(seed)

    v = Variant("torch", step)
    v.calibrate(3)
    interleave([v])
    med = statistics.median(v.samples)
    emit("eltwise_chain_fwd_bwd", f"n={n}", v, 80.0 * n, "gbps", chain="sigmoid(tanh(x)*1.7+0.3)",
         nominal_bytes=80 * n, ns_per_elem=med * 1e9 / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="linear,adam,eltwise", help="comma-separated subset")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    todo = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = todo - {"linear", "adam", "eltwise"}
    if unknown:
        ap.error(f"--only: unknown benchmark(s) {sorted(unknown)}")
    if "linear" in todo:
        bench_linear()
    if "adam" in todo:
        bench_adam()
    if "eltwise" in todo:
        bench_eltwise()
    return 0


if __name__ == "__main__":
    sys.exit(main())
