"""gen_optim.py — PyTorch golden values for genmod's optimizers, clipping and LR schedules.

Writes tests/golden/optim.safetensors (read by tests/test_optim.c). Everything is float32 except where
noted; names:
  init.<t>               initial values of the three parameter tensors t in {w1 (4,5), b1 (7,), w2 (3,8)}
  grad<k>.<t>            the k-th gradient (k = 0..4), fed to every optimizer at step k
  <cfg>.lr               (5,) the learning rate passed at each step (set in param_groups before step)
  <cfg>.step<k>.<t>      parameter values after step k (k = 0..4), torch.optim single-tensor path
                         (foreach=False); configs listed in CONFIGS below (the C test mirrors them)
  clip.<m>.norm          (1,) clip_grad_norm_ return on grad0 with max_norm m in {1, 100}
  clip.<m>.<t>           grad0 after clipping
  sched.<name>           (31,) lr used at steps 0..30 (optimizer lr read before each scheduler.step())

Schedules (the closed form genmod implements; asserted against torch here):
  warmup W steps from start factor f: lr(s) = base * (f + (1 - f) * s / W) for s < W (torch LinearLR,
  end_factor 1, total_iters W), then the main schedule at t = s - W (torch SequentialLR, milestones=[W]):
  step: base * gamma ** (t // step_size); cosine: min + (base - min) * (1 + cos(pi * t / (T - W))) / 2
  for t <= T - W (T = total steps; torch CosineAnnealingLR T_max = T - W).

Dev-time only: needs torch; the C tests never run Python.
"""
import math
import os
import warnings

import torch

from opgen import write_safetensors  # the one hand-written safetensors writer of the generators

STEPS = 5
SHAPES = {"w1": (4, 5), "b1": (7,), "w2": (3, 8)}
LR_FACTORS = [1.0, 0.9, 0.8, 1.1, 0.5]  # lr_k = base * factor_k: checks the lr argument is used per step

# name -> (constructor, base lr, kwargs, clip max_norm before each step or None)
CONFIGS = [
    ("sgd", torch.optim.SGD, 0.1, {}, None),
    ("sgd_mom", torch.optim.SGD, 0.1, {"momentum": 0.9}, None),
    ("sgd_damp", torch.optim.SGD, 0.1, {"momentum": 0.9, "dampening": 0.5, "weight_decay": 0.05}, None),
    ("sgd_nesterov_wd", torch.optim.SGD, 0.1, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, None),
    ("adam", torch.optim.Adam, 0.01, {}, None),
    ("adam_wd", torch.optim.Adam, 0.01, {"weight_decay": 0.1}, None),
    ("adamw", torch.optim.AdamW, 0.01, {"weight_decay": 0.1, "betas": (0.8, 0.99), "eps": 1e-6}, None),
    ("adam_clip", torch.optim.Adam, 0.01, {}, 1.0),
    ("adagrad", torch.optim.Adagrad, 0.1, {}, None),
    ("adagrad_decay", torch.optim.Adagrad, 0.1,
     {"lr_decay": 0.1, "initial_accumulator_value": 0.5, "weight_decay": 0.05}, None),
    ("rmsprop", torch.optim.RMSprop, 0.01, {}, None),
    ("rmsprop_cm", torch.optim.RMSprop, 0.01,
     {"centered": True, "momentum": 0.9, "weight_decay": 0.01, "alpha": 0.9}, None),
]


def make_data():
    g = torch.Generator().manual_seed(1234)
    init = {k: torch.randn(s, generator=g) for k, s in SHAPES.items()}
    grads = []
    for k in range(STEPS):
        scale = [1.0, 0.5, 2.0, 0.1, 1.5][k]
        grads.append({n: scale * torch.randn(s, generator=g) for n, s in SHAPES.items()})
    return init, grads


def run_optim(init, grads, ctor, base, kw, clip):
    ps = [init[n].clone().requires_grad_(True) for n in SHAPES]
    opt = ctor(ps, lr=base, foreach=False, **kw)
    out = {}
    for k in range(STEPS):
        for p, n in zip(ps, SHAPES):
            p.grad = grads[k][n].clone()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(ps, clip, foreach=False)
        for grp in opt.param_groups:
            grp["lr"] = base * LR_FACTORS[k]
        opt.step()
        for p, n in zip(ps, SHAPES):
            out[f"step{k}.{n}"] = p.detach().clone()
    return out


def sched_lrs(make, n=31, base=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    s = make(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return lrs


def closed_form(s, base, kind, W=0, f=1.0, step_size=1, gamma=1.0, total=0, min_lr=0.0):
    if s < W:
        return base * (f + (1.0 - f) * s / W)
    t = s - W
    if kind == "constant":
        return base
    if kind == "step":
        return base * gamma ** (t // step_size)
    T = total - W
    t = min(t, T)
    return min_lr + (base - min_lr) * (1.0 + math.cos(math.pi * t / T)) / 2.0


def main():
    warnings.filterwarnings("ignore")
    torch.set_default_dtype(torch.float32)
    init, grads = make_data()
    out = {}
    for n in SHAPES:
        out[f"init.{n}"] = init[n]
        for k in range(STEPS):
            out[f"grad{k}.{n}"] = grads[k][n]
    for name, ctor, base, kw, clip in CONFIGS:
        res = run_optim(init, grads, ctor, base, kw, clip)
        out[f"{name}.lr"] = torch.tensor([base * f for f in LR_FACTORS])
        for key, v in res.items():
            out[f"{name}.{key}"] = v
    for m in (1.0, 100.0):
        gs = [grads[0][n].clone() for n in SHAPES]
        ps = [torch.zeros(SHAPES[n], requires_grad=True) for n in SHAPES]
        for p, g in zip(ps, gs):
            p.grad = g
        norm = torch.nn.utils.clip_grad_norm_(ps, m, foreach=False)
        out[f"clip.{int(m)}.norm"] = norm.reshape(1)
        for p, n in zip(ps, SHAPES):
            out[f"clip.{int(m)}.{n}"] = p.grad

    S = torch.optim.lr_scheduler
    scheds = {
        "constant": (lambda o: S.ConstantLR(o, factor=1.0, total_iters=0), dict(kind="constant")),
        "step": (lambda o: S.StepLR(o, step_size=7, gamma=0.5), dict(kind="step", step_size=7, gamma=0.5)),
        "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.001),
                   dict(kind="cosine", total=30, min_lr=0.001)),
        "warmup_cosine": (lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                       S.CosineAnnealingLR(o, T_max=25, eta_min=0.001)],
                                                   milestones=[5]),
                          dict(kind="cosine", W=5, f=0.1, total=30, min_lr=0.001)),
        "warmup_step": (lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=4),
                                                     S.StepLR(o, step_size=6, gamma=0.3)], milestones=[4]),
                        dict(kind="step", W=4, f=0.25, step_size=6, gamma=0.3)),
        "warmup_constant": (lambda o: S.LinearLR(o, start_factor=0.2, total_iters=5),
                            dict(kind="constant", W=5, f=0.2)),
    }
    for name, (make, cf) in scheds.items():
        lrs = sched_lrs(make)
        for s, lr in enumerate(lrs):
            want = closed_form(s, 0.1, **cf)
            assert abs(lr - want) <= 1e-12 + 1e-9 * abs(want), (name, s, lr, want)
        out[f"sched.{name}"] = torch.tensor(lrs, dtype=torch.float64)

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.safetensors")
    write_safetensors(path, out, {"generator": "tests/golden/gen_optim.py", "torch": torch.__version__})
    print(f"wrote {path}: {len(out)} tensors")


if __name__ == "__main__":
    main()
