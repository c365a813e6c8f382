#!/usr/bin/env python3
"""torch_ar.py — PyTorch references for genmod's autoregressive-model benchmarks (MADE, NADE).

Same timing protocol and JSON-lines fields as bench/torch_engine.py (see bench/README.md): every
variant is calibrated to >= GM_BENCH_MIN_S (0.3 s) per repetition, the variants of one benchmark run
interleaved A, B, A, B, ... for GM_BENCH_REPS (7) repetitions, medians reported.
Threads: torch.set_num_threads(GM_BENCH_THREADS or 2). Dev-only: needs torch.

Data: D = 784 binary dimensions, batch B = 100, x ~ Bernoulli(0.5) from a fixed seed; H = 500.
Loss of every training step: mean over the batch of BCE-with-logits summed over D; each step is
zero_grad(set_to_none=True), loss, backward, torch.optim.Adam(lr=1e-3) step.

  made_train_step    MADE 784-500-784 (ReLU, natural order, hidden degrees uniform in [0, D-2],
                     masks applied as F.linear(x, W * mask, b)); shape "D=784,H=500,B=100"
  made2_train_step   MADE 784-500-500-784 (second layer's degrees uniform in [min of the first's, D-2])
  nade_train_step    impl torch / torch_compile: vectorised NADE, A = c + exclusive cumsum over D of
                     x[:, :, None] * W[None] (the (B, D, H) temporary; computed as the cumsum of the
                     product of x and W each shifted by one), h = sigmoid(A), logits = b + (h * V).sum(-1);
                     impl torch_loop: the per-dimension Python loop (pytorch-generative style:
                     a = c; for i: h = sigmoid(a); logit_i = h @ V_i + b_i; a = a + x_i * W_i)
  made_sample        naive MADE sampler, 100 samples: D full forward passes of the 784-500-784 MADE,
                     x_d ~ Bernoulli(sigmoid(logit_d)) in natural order
  nade_sample        incremental NADE sampler, 100 samples: a (100, H), after each draw
                     a += x_d[:, None] * W_d

"gflops" = nominal flops / median time, with (L = hidden layers, H = 500):
  made_train_step    6 * B * (D*H + H*D)                (fwd + 2 bwd GEMMs per layer)
  made2_train_step   6 * B * (D*H + H*H + H*D)
  nade_train_step    3 * (2*B*D*H + 2*B*D*H) = 12*B*D*H (a updates + logits, x3 for fwd + bwd)
  made_sample        D * (2*B*D*H * 2) = 4*B*D^2*H      (D forward passes of two GEMMs)
  nade_sample        4*B*D*H                            (a update + logit per dimension)
The same counts are used for genmod, so the ratios compare times.

PyTorch settings (each line records them): Adam with fused=True (the fastest CPU Adam, bench/
torch_engine.py; falls back to foreach=True if this torch lacks it), zero_grad(set_to_none=True);
sampling under torch.inference_mode() with in-place updates; training steps both eager ("torch") and
with the forward + loss under torch.compile (inductor, default mode; backward through AOTAutograd;
"torch_compile", dropped with a note on stderr if compiling fails; --no-compile skips it). The
samplers are not compiled: made_sample is GEMM-bound and nade_sample a Python loop of tiny ops.
Each training benchmark first checks that its variants compute the same initial loss
(check_max_rel_err).
Usage: python3 bench/torch_ar.py [--only made,made2,nade,made_sample,nade_sample] [--no-compile]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import THREADS, Variant, interleave, emit  # noqa: E402
import torch.nn.functional as F

D, H, B = 784, 500, 100
LR = 1e-3
BENCHES = ("made", "made2", "nade", "made_sample", "nade_sample")


def binary_data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(B, D, generator=g) < 0.5).float()


def make_adam(params):
    """Fused Adam (fastest on CPU), else foreach. Returns (optimizer, mode)."""
    params = list(params)
    for mode in ("fused", "foreach"):
        try:
            opt = torch.optim.Adam(params, lr=LR, **{mode: True})
            return opt, mode
        except (RuntimeError, TypeError, ValueError) as e:
            print(f"torch_ar: Adam {mode}=True unavailable: {e}", file=sys.stderr)
    return torch.optim.Adam(params, lr=LR), "default"


def bce_loss(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]


# ---------------------------------------------------------------- MADE

def made_degrees(hidden, seed):
    g = torch.Generator().manual_seed(seed)
    degs = [torch.arange(D)]  # natural order: degree of input d = d
    for h in hidden:
        lo = int(degs[-1].min())
        degs.append(torch.randint(lo, D - 1, (h,), generator=g))  # uniform in [lo, D-2]
    masks = [(degs[l + 1][:, None] >= degs[l][None, :]).float() for l in range(len(hidden))]
    masks.append((degs[0][:, None] > degs[-1][None, :]).float())  # output: strict
    return masks


class MADE(torch.nn.Module):
    def __init__(self, hidden, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        sizes = (D,) + tuple(hidden) + (D,)
        self.layers = torch.nn.ModuleList(torch.nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        for i, m in enumerate(made_degrees(hidden, seed + 1)):
            self.register_buffer(f"mask{i}", m)

    def forward(self, x):
        h = x
        n = len(self.layers)
        for i, lin in enumerate(self.layers):
            h = F.linear(h, lin.weight * getattr(self, f"mask{i}"), lin.bias)
            if i < n - 1:
                h = torch.relu(h)
        return h


# ---------------------------------------------------------------- NADE

class NADE(torch.nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = torch.nn.Parameter(0.05 * torch.randn(D, H, generator=g))  # row d: input weights of x_d
        self.c = torch.nn.Parameter(0.1 * torch.randn(H, generator=g))
        self.V = torch.nn.Parameter(0.05 * torch.randn(D, H, generator=g))
        self.b = torch.nn.Parameter(0.1 * torch.randn(D, generator=g))

    def forward(self, x):  # vectorised, natural order
        # exclusive cumsum over D of x[:, :, None] * W[None]: the shift is applied to the (B, D) and
        # (D, H) factors, not to the (B, D, H) product (exact, and ~20% faster eager than padding
        # the product's cumsum: no (B, D, H) pad/slice copies forward or backward)
        xs = F.pad(x[:, :-1], (1, 0))
        Ws = F.pad(self.W[:-1], (0, 0, 1, 0))
        A = self.c + torch.cumsum(xs[:, :, None] * Ws[None], dim=1)  # (B, D, H)
        return self.b + (torch.sigmoid(A) * self.V).sum(-1)

    def forward_loop(self, x):  # pytorch-generative style, one dimension at a time
        a = self.c.expand(x.shape[0], -1)
        logits = []
        for i in range(D):
            h = torch.sigmoid(a)
            logits.append(h @ self.V[i:i + 1].t() + self.b[i:i + 1])
            a = a + x[:, i:i + 1] * self.W[i:i + 1]
        return torch.cat(logits, dim=1)


# ---------------------------------------------------------------- training steps

def train_variants(make_model, forward_names, x, compile_ok):
    """One (model copy, fused Adam, step fn) per impl; all start from the same parameters."""
    variants, losses = [], {}
    for impl, fwd_name, compiled in forward_names:
        if compiled and not compile_ok:
            continue
        model = make_model()
        fwd = getattr(model, fwd_name)
        loss_fn = lambda xx, fwd=fwd: bce_loss(fwd(xx), xx)
        extra = {"mode": "eager"}
        t0 = time.perf_counter()
        try:
            if compiled:
                loss_fn = torch.compile(loss_fn)
            loss = loss_fn(x)
            loss.backward()  # compiles the forward and backward graphs
        except Exception as e:  # noqa: BLE001 - any compiler failure drops the variant
            if not compiled:
                raise
            print(f"torch_ar: torch.compile failed for {impl}, skipped: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        if compiled:
            extra = {"mode": "torch.compile(inductor, default)", "compile_s": time.perf_counter() - t0}
        losses[impl] = loss.item()
        model.zero_grad(set_to_none=True)
        opt, mode = make_adam(model.parameters())

        def step(model=model, opt=opt, loss_fn=loss_fn):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(x)
            loss.backward()
            opt.step()

        extra.update(adam=mode, zero_grad="set_to_none", lr=LR)
        variants.append(Variant(impl, step, **extra))
    ref = losses.get("torch")
    err = max((abs(l - ref) / abs(ref) for l in losses.values()), default=0.0) if ref else 0.0
    return variants, err, ref


def run_train(bench, shape, make_model, forward_names, flops, compile_ok, warm=3):
    x = binary_data(0)
    variants, err, loss0 = train_variants(make_model, forward_names, x, compile_ok)
    if err > 1e-4:
        print(f"torch_ar: {bench}: variants disagree on the initial loss (max rel err {err:.3g})", file=sys.stderr)
    for v in variants:
        v.calibrate(warm)
    interleave(variants)
    for v in variants:
        emit(bench, shape, v, flops, "gflops", check_max_rel_err=err, failed=int(err > 1e-4), loss0=loss0,
             nominal_flops=flops)


def bench_made(compile_ok):
    run_train("made_train_step", f"D={D},H={H},B={B}", lambda: MADE((H,)),
              [("torch", "forward", False), ("torch_compile", "forward", True)],
              6.0 * B * (D * H + H * D), compile_ok)


def bench_made2(compile_ok):
    run_train("made2_train_step", f"D={D},H={H}-{H},B={B}", lambda: MADE((H, H)),
              [("torch", "forward", False), ("torch_compile", "forward", True)],
              6.0 * B * (D * H + H * H + H * D), compile_ok)


def bench_nade(compile_ok):
    run_train("nade_train_step", f"D={D},H={H},B={B}", lambda: NADE(),
              [("torch", "forward", False), ("torch_compile", "forward", True),
               ("torch_loop", "forward_loop", False)],
              12.0 * B * D * H, compile_ok, warm=1)


# ---------------------------------------------------------------- sampling

def bench_made_sample():
    model = MADE((H,))
    torch.manual_seed(3)

    def sample():
        with torch.inference_mode():
            xs = torch.zeros(B, D)
            for d in range(D):
                logit = model(xs)[:, d]
                xs[:, d] = torch.bernoulli(torch.sigmoid(logit))
            return xs

    xs = sample()
    ok = bool(((xs == 0) | (xs == 1)).all())
    v = Variant("torch", sample, grad_mode="inference_mode", mode="eager")
    v.calibrate(1)
    interleave([v])
    emit("made_sample", f"D={D},H={H},B={B}", v, 4.0 * B * D * D * H, "gflops", failed=int(not ok),
         nominal_flops=4.0 * B * D * D * H)


def bench_nade_sample():
    model = NADE()
    W, c, V, b = (p.detach() for p in (model.W, model.c, model.V, model.b))
    torch.manual_seed(4)

    def sample():
        with torch.inference_mode():
            xs = torch.empty(B, D)
            a = c.expand(B, H).clone()
            for d in range(D):
                h = torch.sigmoid(a)
                p = torch.sigmoid(torch.mv(h, V[d]).add_(b[d]))
                xd = torch.bernoulli(p)
                xs[:, d] = xd
                a.addr_(xd, W[d])  # a += x_d[:, None] * W_d
            return xs

    xs = sample()
    ok = bool(((xs == 0) | (xs == 1)).all())
    v = Variant("torch", sample, grad_mode="inference_mode", mode="eager")
    v.calibrate(3)
    interleave([v])
    emit("nade_sample", f"D={D},H={H},B={B}", v, 4.0 * B * D * H, "gflops", failed=int(not ok),
         nominal_flops=4.0 * B * D * H)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset of " + ",".join(BENCHES))
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile variants")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    todo = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = todo - set(BENCHES)
    if unknown:
        ap.error(f"--only: unknown benchmark(s) {sorted(unknown)}")
    compile_ok = not args.no_compile
    if "made" in todo:
        bench_made(compile_ok)
    if "made2" in todo:
        bench_made2(compile_ok)
    if "nade" in todo:
        bench_nade(compile_ok)
    if "made_sample" in todo:
        bench_made_sample()
    if "nade_sample" in todo:
        bench_nade_sample()
    return 0


if __name__ == "__main__":
    sys.exit(main())
