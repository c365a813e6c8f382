"""Golden values for src/ops/flow_ops.c (run: cd tests/golden && python3 gen_ops_flow.py).

squeeze2d (Glow's space-to-depth by 2: x.view(B,C,H/2,2,W/2,2).permute(0,1,3,5,2,4)
.reshape(B,4C,H/2,W/2)), its inverse unsqueeze2d, and slogdet (torch.linalg.slogdet(W).logabsdet,
gradient W^{-T}). Shapes include the smallest ones (1x1 pixels, a 1x1 matrix), non-contiguous
inputs (transposed / permuted / sliced views, as in gen_ops_shape.py), a round trip and the
squeeze followed by a channel slice (what a multi-scale flow's factor-out does).

slogdet inputs are not drawn from an opgen domain: W = 2 I + 0.3 N(0,1) (well conditioned; the
harness's finite differences move entries by ~1e-2), with some rows negated so that the
determinant is negative (log|det| must not care about the sign). Views get the well-conditioned
matrix at the place the view reads. Everything else works as opgen.run_cases: float32 inputs,
<name>.in<k>, .r, .out, .g<k> computed in float64. Case names and shapes must match
tests/test_ops_flow.c.

Dev-time only: needs torch; the C tests never run Python.
"""
import os

import torch

from opgen import ANY, _gen, inp, write_safetensors


def squeeze2d(x):
    B, C, H, W = x.shape
    return x.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(B, 4 * C, H // 2, W // 2)


def unsqueeze2d(x):
    B, C, H, W = x.shape
    return x.reshape(B, C // 4, 2, 2, H, W).permute(0, 1, 4, 2, 5, 3).reshape(B, C // 4, 2 * H, 2 * W)


def logabsdet(w):
    return torch.linalg.slogdet(w).logabsdet


def wellcond(n, neg_rows=()):
    """A maker for W = 2 I + 0.3 N(0,1) (n, n) with the listed rows negated."""
    def make(g):
        w = 2.0 * torch.eye(n) + 0.3 * torch.randn(n, n, generator=g)
        for r in neg_rows:
            w[r] = -w[r]
        return w.float()
    return make


def mat_t(n):
    """Input x whose transpose is well conditioned (the op sees x^T)."""
    inner = wellcond(n, neg_rows=(0,))
    return lambda g: inner(g).t().contiguous()


def mat_colslice(n, extra):
    """(n, n + extra) input whose columns 1 .. n are well conditioned (the op sees x[:, 1:n+1])."""
    inner = wellcond(n)

    def make(g):
        x = torch.randn(n, n + extra, generator=g)
        x[:, 1:n + 1] = inner(g)
        return x.float()
    return make


def mat(shape, make):
    d = inp(shape, ANY)
    d["make"] = make
    return d


cases = [
    # squeeze2d
    ("squeeze2d", [inp((2, 3, 4, 6))], squeeze2d),
    ("squeeze2d_1px", [inp((1, 1, 2, 2))], squeeze2d),
    ("squeeze2d_tall", [inp((3, 2, 8, 2))], squeeze2d),
    ("squeeze2d_view", [inp((2, 3, 6, 4))], lambda x: squeeze2d(x.transpose(2, 3))),
    ("squeeze2d_split", [inp((2, 2, 4, 4))], lambda x: squeeze2d(x)[:, 3:7]),
    # unsqueeze2d
    ("unsqueeze2d", [inp((2, 8, 3, 2))], unsqueeze2d),
    ("unsqueeze2d_1px", [inp((1, 4, 1, 1))], unsqueeze2d),
    ("unsqueeze2d_view", [inp((2, 3, 8, 2))], lambda x: unsqueeze2d(x.permute(0, 2, 1, 3))),
    ("squeeze_roundtrip", [inp((2, 3, 4, 6))], lambda x: unsqueeze2d(squeeze2d(x))),
    ("unsqueeze_roundtrip", [inp((2, 12, 2, 3))], lambda x: squeeze2d(unsqueeze2d(x))),
    # slogdet
    ("slogdet_1x1", [mat((1, 1), wellcond(1))], logabsdet),
    ("slogdet_1x1_neg", [mat((1, 1), wellcond(1, neg_rows=(0,)))], logabsdet),
    ("slogdet_2x2", [mat((2, 2), wellcond(2))], logabsdet),
    ("slogdet_3x3_negdet", [mat((3, 3), wellcond(3, neg_rows=(1,)))], logabsdet),
    ("slogdet_4x4", [mat((4, 4), wellcond(4, neg_rows=(0, 3)))], logabsdet),
    ("slogdet_7x7", [mat((7, 7), wellcond(7, neg_rows=(2,)))], logabsdet),
    ("slogdet_t", [mat((5, 5), mat_t(5))], lambda x: logabsdet(x.t())),
    ("slogdet_colslice", [mat((4, 6), mat_colslice(4, 2))], lambda x: logabsdet(x[:, 1:5])),
    ("slogdet_scaled", [mat((3, 3), wellcond(3))], lambda x: 2.5 * logabsdet(x) - 1.0),
]


def run(family, cases, seed=0):
    """opgen.run_cases, with inputs that carry their own maker (d["make"](generator))."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, specs, fn in cases:
        xs32 = [s["make"](g) if "make" in s else _gen(s, g) for s in specs]
        for x, s in zip(xs32, specs):
            assert tuple(x.shape) == s["shape"], (name, x.shape, s["shape"])
        xs = [x.double().requires_grad_(s["grad"]) for x, s in zip(xs32, specs)]
        y = fn(*xs)
        assert torch.isfinite(y).all(), name
        r = torch.randn(y.shape, generator=g).float()
        for k, x in enumerate(xs32):
            out[f"{name}.in{k}"] = x
        out[f"{name}.r"] = r
        out[f"{name}.out"] = y.detach().float()
        gr = torch.autograd.grad((y * r.double()).sum(), xs, allow_unused=True)
        for k, gk in enumerate(gr):
            out[f"{name}.g{k}"] = (gk if gk is not None else torch.zeros_like(xs[k])).float()
    # self-checks: the layout is Glow's, the inverse is exact, and the gradient of log|det W| is W^{-T}
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float64).reshape(2, 3, 4, 6)
    s = squeeze2d(x)
    for c in range(3):
        for i in range(2):
            for j in range(2):
                assert torch.equal(s[:, 4 * c + 2 * i + j], x[:, c, i::2, j::2])
    assert torch.equal(unsqueeze2d(s), x)
    w = wellcond(5, neg_rows=(1,))(torch.Generator().manual_seed(1)).double().requires_grad_(True)
    (gw,) = torch.autograd.grad(logabsdet(w), w)
    assert (gw - torch.linalg.inv(w).t()).abs().max() < 1e-12
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"ops_{family}.safetensors")
    write_safetensors(path, out, {"generator": f"tests/golden/gen_ops_{family}.py", "torch": torch.__version__})
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    run("flow", cases)
