"""torch_common.py — what the PyTorch reference benchmarks (torch_engine.py,
torch_ar.py) share: the timing protocol of bench/README.md (calibration to
>= GM_BENCH_MIN_S per repetition, GM_BENCH_REPS interleaved repetitions,
medians) and the JSON line every benchmark prints. Dev-only: needs torch."""
import json
import os
import re
import statistics
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
    def __init__(self, impl, fn, **extra):
        self.impl, self.fn, self.iters, self.samples, self.extra = impl, fn, 1, [], extra

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
    d.update(v.extra)
    d.update(extra)
    print(json.dumps(d), flush=True)
