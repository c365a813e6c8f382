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
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import THREADS, Variant, interleave, emit  # noqa: E402

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
