#!/usr/bin/env python3
"""torch_flows.py — PyTorch references for genmod's flow-model training benchmarks (bench/bench_flows.c).

Same timing protocol and JSON-lines fields as bench/torch_ar.py (bench/README.md): every variant is
calibrated to >= GM_BENCH_MIN_S (0.3 s) per repetition, the variants of one case run interleaved
A, B, A, B, ... for GM_BENCH_REPS (7) repetitions, medians reported. Threads:
torch.set_num_threads(GM_BENCH_THREADS or 2). float32 throughout. Dev-only: needs torch (and the
safetensors package to read genmod's weights).

The models are written from the documented math of src/flows/*.c and src/models/{flow_common,flow2d,
realnvp}.c, layer for layer, with genmod's sizes, masks and parameter names (so genmod's weights load
with load_state_dict(strict=True), which also proves the architectures match):

  affine784  flow2d D=784, B=100: 8 affine couplings over alternating masks (parity k % 2: dims d with
             (d + parity) even condition), conditioner MLP 392 -> 1024 -> ReLU -> 1024 -> ReLU -> 784,
             (raw, t) = its two halves, s = scale * tanh(raw), y_b = x_b * exp(s) + t, log-det sum s;
             standard Gaussian base; no preprocessing.
  flow2d     the same with D=2, hidden 256, B=1024 (MLP 1 -> 256 -> 256 -> 2).
  realnvp    realnvp 1x28x28, B=64, --features 16 --blocks 1 --inv1x1 lu --actnorm 1 --scales 3:
             scales 0, 1: 3 x [ActNorm, LU 1x1 conv if C >= 2, checkerboard coupling], squeeze,
             3 x [ActNorm, LU 1x1 conv, channel coupling], factor out half the channels;
             scale 2: 4 x [ActNorm, LU 1x1 conv, checkerboard coupling]. Coupling nets: conv3x3
             n_in -> 16, one residual block h += conv(relu(conv(relu(h)))), conv3x3(relu(h)) -> n_out
             (padding 1). Checkerboard: the net sees x * m (m = 1 where (row + col + parity) is even),
             s and t are multiplied by 1 - m. Channel mask: the first half of the channels conditions
             (parity 0) or the second (parity 1). ActNorm y = (x + b) * exp(s), log-det H W sum s. LU:
             W = perm (tril(lower, -1) + I) (triu(upper, 1) + diag(sign_s exp(log_s))), y = W x per
             pixel, log-det H W sum log_s. Squeeze: x.view(B,C,H/2,2,W/2,2).permute(0,1,3,5,2,4).
             z = [factored-out parts, final activations], each flattened. Preprocessing (float64, as
             genmod's C loop; no gradient): y = (round(255 x) + u) / 256, u ~ U[0,1) fresh each step,
             then logit(0.05 + 0.9 y) with its log-det.
Loss = -mean_b [log N(z; 0, I) + log-det + preprocessing log-det]. Each step: zero_grad(set_to_none=True),
loss, backward, torch.optim.Adam(lr=1e-3, fused=True) step (bench/torch_engine.py: fused is the fastest
CPU Adam; falls back to foreach).

Weights and data: from --weights DIR/<case>.safetensors written by `bench_flows --dump DIR`: genmod's
parameters (after its init, ActNorm data-init and the 0.02 perturbation described in bench_flows.c),
the batch x, genmod's loss and gradients of one backward. Before timing, each case checks on those
weights (eager, realnvp with dequantization off as in the dump) that the loss equals genmod's
(loss_rel_err, must be <= 1e-4, else the lines are marked failed) and compares the gradients of every
parameter (grad_max_rel_err: max |g_torch - g_genmod| / max |g_genmod| per tensor, worst tensor);
printed as a {"bench":"flow_check",...} line. Every timed variant starts from those same weights.
Without --weights (or the file) the model keeps torch's own random init and no check is made.

Variants (impl): "torch" eager; "torch_compile": the forward + loss under torch.compile (inductor,
default mode; backward through AOTAutograd; dropped with a note on stderr if compiling fails;
--no-compile skips it); realnvp also "torch_cl" / "torch_compile_cl": the model's weights and the
input in channels_last memory format. The summary (run_flows.sh) compares genmod with the fastest.

"gflops" counts nominal flops exactly as bench_flows.c: 6 x forward MACs of the matmuls / convs
(MLP layer B*in*out, 3x3 conv B*H*W*9*in*out, 1x1 conv B*H*W*C*C) — the same count for genmod and torch,
so ratios compare times. pct_peak: of 157 GFLOP/s (2 Zen 3 cores, AVX2+FMA fp32); pct_peak_480: of
the 480 GFLOP/s AVX-512 figure.
Usage: python3 bench/torch_flows.py [--only affine784,flow2d,realnvp] [--weights DIR] [--no-compile]
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import THREADS, Variant, interleave, emit  # noqa: E402

LR = 1e-3
ALPHA = 0.05
LN_2PI = math.log(2 * math.pi)
PEAK, PEAK_480 = 157.0, 480.0

CASES = {
    "affine784": dict(model="flow2d", D=784, B=100, layers=8, hidden=1024, depth=2),
    "flow2d": dict(model="flow2d", D=2, B=1024, layers=8, hidden=256, depth=2),
    "realnvp": dict(model="realnvp", C=1, H=28, W=28, B=64, features=16, blocks=1, scales=3),
}


# ---------------------------------------------------------------- layers

class MLP(nn.Module):
    """n_in -> [linear, ReLU] x depth -> linear -> n_out; submodules lin0.. as genmod's names."""

    def __init__(self, n_in, hidden, depth, n_out):
        super().__init__()
        self.n = depth + 1
        for i in range(self.n):
            setattr(self, f"lin{i}", nn.Linear(n_in if i == 0 else hidden, n_out if i == self.n - 1 else hidden))
        self.macs = sum(getattr(self, f"lin{i}").weight.numel() for i in range(self.n))

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"lin{i}")(x)
            if i < self.n - 1:
                x = torch.relu(x)
        return x


class ResNet(nn.Module):
    """conv3x3 n_in -> F, depth x [h += conv(relu(conv(relu(h))))], conv3x3(relu(h)) -> n_out."""

    def __init__(self, n_in, feat, depth, n_out, hw):
        super().__init__()
        self.depth, self.n = depth, 2 + 2 * depth
        for i in range(self.n):
            setattr(self, f"conv{i}", nn.Conv2d(n_in if i == 0 else feat, n_out if i == self.n - 1 else feat, 3,
                                                padding=1))
        self.macs = hw * sum(getattr(self, f"conv{i}").weight.numel() for i in range(self.n))

    def forward(self, x):
        h = self.conv0(x)
        for b in range(self.depth):
            r = getattr(self, f"conv{1 + 2 * b}")(torch.relu(h))
            r = getattr(self, f"conv{2 + 2 * b}")(torch.relu(r))
            h = h + r
        return getattr(self, f"conv{self.n - 1}")(torch.relu(h))


class VecCoupling(nn.Module):
    """Affine coupling over the alternating mask of vector data."""

    def __init__(self, D, parity, hidden, depth):
        super().__init__()
        self.D, self.parity = D, parity
        ia = [d for d in range(D) if (d + parity) % 2 == 0]
        ib = [d for d in range(D) if (d + parity) % 2 != 0]
        self.na, self.nb = len(ia), len(ib)
        self.net = MLP(self.na, hidden, depth, 2 * self.nb)
        self.scale = nn.Parameter(torch.ones(self.nb))
        self.even = D % 2 == 0
        if not self.even:  # general path: gather / scatter like genmod
            self.register_buffer("ia", torch.tensor(ia), persistent=False)
            self.register_buffer("ib", torch.tensor(ib), persistent=False)
            self.register_buffer("inv", torch.argsort(torch.tensor(ia + ib)), persistent=False)

    def forward(self, x, ld):
        B = x.shape[0]
        if self.even:  # conditioning dims are x[:, parity::2]: strided views, no gather
            x2 = x.view(B, self.D // 2, 2)
            xa, xb = x2[:, :, self.parity], x2[:, :, 1 - self.parity]
        else:
            xa, xb = x[:, self.ia], x[:, self.ib]
        o = self.net(xa)
        s = self.scale * torch.tanh(o[:, :self.nb])
        yb = xb * torch.exp(s) + o[:, self.nb:]
        ld = ld + s.sum(1)
        if self.even:
            y = torch.stack((xa, yb) if self.parity == 0 else (yb, xa), dim=2).reshape(B, self.D)
        else:
            y = torch.cat((xa, yb), 1)[:, self.inv]
        return y, ld


class ActNorm(nn.Module):
    def __init__(self, C, hw, image):
        super().__init__()
        shape = (C, 1, 1) if image else (C,)
        self.bias = nn.Parameter(torch.zeros(shape))
        self.log_scale = nn.Parameter(torch.zeros(shape))
        self.hw = float(hw)

    def forward(self, x, ld):
        return (x + self.bias) * torch.exp(self.log_scale), ld + self.hw * self.log_scale.sum()


class LU1x1(nn.Module):
    def __init__(self, C, hw):
        super().__init__()
        self.C, self.hw = C, float(hw)
        self.lower = nn.Parameter(torch.zeros(C, C))
        self.upper = nn.Parameter(torch.zeros(C, C))
        self.log_s = nn.Parameter(torch.zeros(C))
        self.register_buffer("perm", torch.eye(C))
        self.register_buffer("sign_s", torch.ones(C))
        self.register_buffer("lmask", torch.tril(torch.ones(C, C), -1), persistent=False)
        self.register_buffer("umask", torch.triu(torch.ones(C, C), 1), persistent=False)
        self.register_buffer("eye", torch.eye(C), persistent=False)
        self.macs = hw * C * C

    def forward(self, x, ld):
        L = self.lower * self.lmask + self.eye
        U = self.upper * self.umask + torch.diag(self.sign_s * torch.exp(self.log_s))
        W = self.perm @ (L @ U)
        return F.conv2d(x, W.view(self.C, self.C, 1, 1)), ld + self.hw * self.log_s.sum()


class CheckerCoupling(nn.Module):
    def __init__(self, C, H, W, parity, feat, blocks):
        super().__init__()
        self.C = C
        yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        m = ((yy + xx + parity) % 2 == 0).float().view(1, 1, H, W)
        self.register_buffer("m", m, persistent=False)
        self.register_buffer("mc", 1 - m, persistent=False)
        self.net = ResNet(C, feat, blocks, 2 * C, H * W)
        self.scale = nn.Parameter(torch.ones(C, 1, 1))

    def forward(self, x, ld):
        o = self.net(x * self.m)
        s = self.scale * torch.tanh(o[:, :self.C]) * self.mc
        t = o[:, self.C:] * self.mc
        return x * torch.exp(s) + t, ld + s.sum((1, 2, 3))


class ChannelCoupling(nn.Module):
    def __init__(self, C, H, W, parity, feat, blocks):
        super().__init__()
        self.c2, self.parity = C // 2, parity
        self.net = ResNet(self.c2, feat, blocks, C, H * W)
        self.scale = nn.Parameter(torch.ones(self.c2, 1, 1))

    def forward(self, x, ld):
        c2 = self.c2
        first, second = x[:, :c2], x[:, c2:]
        xa, xb = (second, first) if self.parity else (first, second)
        o = self.net(xa)
        s = self.scale * torch.tanh(o[:, :c2])
        yb = xb * torch.exp(s) + o[:, c2:]
        return torch.cat((yb, xa) if self.parity else (xa, yb), 1), ld + s.sum((1, 2, 3))


class Squeeze(nn.Module):
    def forward(self, x):
        B, C, H, W = x.shape
        return x.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(B, 4 * C, H // 2, W // 2)


class Split(nn.Module):
    pass


class Flow(nn.Module):
    """layers[k] is genmod's layer k (parameter "layer<k>.<name>" = state_dict "layers.<k>.<name>")."""

    def __init__(self, layers, image, geom):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.image, self.geom = image, geom
        self.channels_last = False

    def forward(self, x):
        B = x.shape[0]
        h = x.view(B, *self.geom) if self.image else x
        if self.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        ld = x.new_zeros(B)
        parts = []
        for layer in self.layers:
            if isinstance(layer, Split):
                c2 = h.shape[1] // 2
                parts.append(h[:, :c2].reshape(B, -1))
                h = h[:, c2:]
            elif isinstance(layer, Squeeze):
                h = layer(h)
            else:
                h, ld = layer(h, ld)
        parts.append(h.reshape(B, -1))
        return torch.cat(parts, 1) if len(parts) > 1 else parts[0], ld

    def macs(self):
        return sum(getattr(m, "macs", 0) for m in self.modules() if isinstance(m, (MLP, ResNet, LU1x1)))


def build_flow2d(cfg):
    D = cfg["D"]
    return Flow([VecCoupling(D, k % 2, cfg["hidden"], cfg["depth"]) for k in range(cfg["layers"])], False, (D,))


def build_realnvp(cfg):
    C, H, W = cfg["C"], cfg["H"], cfg["W"]
    feat, blocks, S = cfg["features"], cfg["blocks"], cfg["scales"]
    layers = []

    def step(kind, parity):
        layers.append(ActNorm(C, H * W, True))
        if C >= 2:
            layers.append(LU1x1(C, H * W))
        layers.append((CheckerCoupling if kind == "checker" else ChannelCoupling)(C, H, W, parity, feat, blocks))

    for s in range(S):
        last = s == S - 1
        for j in range(4 if last else 3):
            step("checker", j % 2)
        if last:
            break
        layers.append(Squeeze())
        C, H, W = 4 * C, H // 2, W // 2
        for j in range(3):
            step("channel", j % 2)
        layers.append(Split())
        C //= 2
    return Flow(layers, True, (cfg["C"], cfg["H"], cfg["W"]))


def build(cfg):
    return build_flow2d(cfg) if cfg["model"] == "flow2d" else build_realnvp(cfg)


# ---------------------------------------------------------------- loss

def preprocess(x, dequant):
    """realnvp: (logit input, its log-det (B)) in float64 like genmod's C loop, returned as float32."""
    y = x.double()
    if dequant:
        y = (torch.round(y * 255.0) + torch.rand(y.shape, dtype=torch.float64)) / 256.0
    s = ALPHA + (1 - 2 * ALPHA) * y
    ls, l1s = torch.log(s), torch.log1p(-s)
    ld = (math.log1p(-2 * ALPHA) - ls - l1s).sum(1)
    return (ls - l1s).float(), ld.float()


def make_loss(flow, cfg):
    D = cfg["D"] if cfg["model"] == "flow2d" else cfg["C"] * cfg["H"] * cfg["W"]

    def loss_fn(y, ld_pre):
        z, ld = flow(y)
        logp = -0.5 * (z * z).sum(1) - 0.5 * LN_2PI * D + ld
        if ld_pre is not None:
            logp = logp + ld_pre
        return -logp.mean()

    return loss_fn


def inputs(cfg, x, dequant=True):
    if cfg["model"] == "realnvp":
        return preprocess(x, dequant)
    return x, None


# ---------------------------------------------------------------- weights / check

def load_dump(case, wdir):
    if not wdir:
        return None
    path = os.path.join(wdir, f"{case}.safetensors")
    if not os.path.exists(path):
        print(f"torch_flows: {path} not found: torch's own init, no correctness check", file=sys.stderr)
        return None
    from safetensors import safe_open
    tensors, meta = {}, {}
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        for k in f.keys():
            tensors[k] = f.get_tensor(k)
    return tensors, meta


def load_weights(flow, tensors):
    sd = {}
    for k, v in tensors.items():
        if k.startswith("layer"):
            idx, rest = k[len("layer"):].split(".", 1)
            sd[f"layers.{idx}.{rest}"] = v
    flow.load_state_dict(sd, strict=True)


def check(case, cfg, dump):
    tensors, meta = dump
    flow = build(cfg)
    load_weights(flow, tensors)
    x = tensors["x"]
    y, ld_pre = inputs(cfg, x, dequant=False)
    loss = make_loss(flow, cfg)(y, ld_pre)
    loss.backward()
    lg = float(meta["loss"])
    rel = abs(loss.item() - lg) / max(abs(lg), 1e-30)
    worst, worst_name, gmax = 0.0, "", 0.0
    names = dict(flow.named_parameters())
    for k, g in tensors.items():
        if not k.startswith("grad/"):
            continue
        idx, rest = k[len("grad/layer"):].split(".", 1)
        p = names[f"layers.{idx}.{rest}"]
        tg = p.grad if p.grad is not None else torch.zeros_like(p)
        scale = g.abs().max().item()
        e = (tg - g).abs().max().item() / scale if scale > 0 else (tg.abs().max().item() > 0) * 1.0
        gmax = max(gmax, scale)
        if e > worst:
            worst, worst_name = e, k[len("grad/"):]
    ntrain = sum(p.numel() for p in flow.parameters())
    gm_flops = float(meta.get("nominal_flops", "nan"))
    flops = 6.0 * cfg["B"] * flow.macs()
    d = dict(bench="flow_check", case=case, impl="torch", loss_genmod=lg, loss_torch=loss.item(), loss_rel_err=rel,
             grad_max_rel_err=worst, grad_worst_param=worst_name,
             trainable_params_torch=ntrain, trainable_params_genmod=int(meta.get("trainable_params", "-1")),
             nominal_flops_torch=flops, nominal_flops_genmod=gm_flops,
             check_dequantize="none" if cfg["model"] == "realnvp" else "n/a",
             ok=int(rel <= 1e-4 and ntrain == int(meta.get("trainable_params", "-1"))),
             round=os.environ.get("GM_BENCH_ROUND", "0"))
    import json
    print(json.dumps(d), flush=True)
    return d["ok"], rel


def make_adam(params):
    params = list(params)
    for mode in ("fused", "foreach"):
        try:
            return torch.optim.Adam(params, lr=LR, **{mode: True}), mode
        except (RuntimeError, TypeError, ValueError) as e:
            print(f"torch_flows: Adam {mode}=True unavailable: {e}", file=sys.stderr)
    return torch.optim.Adam(params, lr=LR), "default"


# ---------------------------------------------------------------- timing

def gen_data(cfg):
    g = torch.Generator().manual_seed(0)
    if cfg["model"] == "realnvp":
        D = cfg["C"] * cfg["H"] * cfg["W"]
        return torch.randint(0, 256, (cfg["B"], D), generator=g).float() / 255.0
    return torch.randn(cfg["B"], cfg["D"], generator=g)


def run_case(case, cfg, dump, compile_ok, do_cl):
    ok, rel = (1, None)
    if dump:
        ok, rel = check(case, cfg, dump)
        if not ok:
            print(f"torch_flows: {case}: torch loss differs from genmod's (rel err {rel:.3g})", file=sys.stderr)
    x = dump[0]["x"].clone() if dump else gen_data(cfg)
    image = cfg["model"] == "realnvp"
    specs = [("torch", False, False), ("torch_compile", True, False)]
    if image and do_cl:
        specs += [("torch_cl", False, True), ("torch_compile_cl", True, True)]
    variants, losses = [], {}
    for impl, compiled, cl in specs:
        if compiled and not compile_ok:
            continue
        flow = build(cfg)
        if dump:
            load_weights(flow, dump[0])
        if cl:
            flow = flow.to(memory_format=torch.channels_last)
            flow.channels_last = True
        loss_fn = make_loss(flow, cfg)
        extra = {"mode": "eager"}
        t0 = time.perf_counter()
        try:
            if compiled:
                loss_fn = torch.compile(loss_fn)
            y, ld_pre = inputs(cfg, x)
            loss = loss_fn(y, ld_pre)
            loss.backward()  # compiles the forward and backward graphs
        except Exception as e:  # noqa: BLE001 - any compiler failure drops the variant
            if not compiled:
                raise
            print(f"torch_flows: torch.compile failed for {case}/{impl}, skipped: {type(e).__name__}: {e}",
                  file=sys.stderr)
            continue
        if compiled:
            extra = {"mode": "torch.compile(inductor, default)", "compile_s": time.perf_counter() - t0}
        losses[impl] = loss.item()
        flow.zero_grad(set_to_none=True)
        opt, amode = make_adam(flow.parameters())
        state = {"loss": None}

        def step(flow=flow, opt=opt, loss_fn=loss_fn, state=state):
            opt.zero_grad(set_to_none=True)
            y, ld_pre = inputs(cfg, x)
            loss = loss_fn(y, ld_pre)
            loss.backward()
            opt.step()
            state["loss"] = loss

        extra.update(adam=amode, zero_grad="set_to_none", lr=LR, channels_last=int(cl), state=state)
        variants.append(Variant(impl, step, **extra))
    ref = losses.get("torch")
    err = max((abs(v - ref) / abs(ref) for v in losses.values()), default=0.0) if ref else 0.0
    if err > 1e-4 and not image:  # realnvp: every variant draws its own dequantization noise
        print(f"torch_flows: {case}: variants disagree on the initial loss (max rel err {err:.3g})", file=sys.stderr)
    for v in variants:
        v.calibrate(2)
    interleave(variants)
    flops = 6.0 * cfg["B"] * build(cfg).macs()
    shape = shape_str(case, cfg)
    for v in variants:
        st = v.extra.pop("state")
        last = st["loss"].item() if st["loss"] is not None else float("nan")
        med = statistics.median(v.samples)
        gf = flops / med / 1e9 if med > 0 else 0.0
        bad = int(not ok or not math.isfinite(last) or (err > 1e-4 and not image))
        emit(f"flow_{case}_train_step", shape, v, flops, "gflops", case=case, model=cfg["model"], batch=cfg["B"],
             ms_per_step=1e3 * med, items_per_s=cfg["B"] / med if med > 0 else 0.0, nominal_flops=flops,
             pct_peak=100 * gf / PEAK, peak_gflops=PEAK, pct_peak_480=100 * gf / PEAK_480,
             check_loss_rel_err=rel, check_variants_max_rel_err=err, loss_first=losses.get(v.impl),
             loss_last=last, failed=bad)


def shape_str(case, cfg):
    if cfg["model"] == "flow2d":
        return (f"D={cfg['D']},B={cfg['B']},layers={cfg['layers']},hidden={cfg['hidden']},depth={cfg['depth']},"
                f"coupling=affine")
    return (f"D={cfg['C'] * cfg['H'] * cfg['W']},B={cfg['B']},features={cfg['features']},blocks={cfg['blocks']},"
            f"inv1x1=lu,actnorm=1,scales={cfg['scales']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(CASES), help="comma-separated subset of " + ",".join(CASES))
    ap.add_argument("--weights", default=None, help="directory of bench_flows --dump files")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile variants")
    ap.add_argument("--no-channels-last", action="store_true", help="skip realnvp's channels_last variants")
    ap.add_argument("--check-only", action="store_true", help="only the correctness checks, no timing")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    todo = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(todo) - set(CASES)
    if unknown:
        ap.error(f"--only: unknown case(s) {sorted(unknown)}")
    status = 0
    for case in todo:
        cfg = CASES[case]
        dump = load_dump(case, args.weights)
        if args.check_only:
            if dump and not check(case, cfg, dump)[0]:
                status = 1
            continue
        run_case(case, cfg, dump, not args.no_compile, not args.no_channels_last)
    return status


if __name__ == "__main__":
    sys.exit(main())
