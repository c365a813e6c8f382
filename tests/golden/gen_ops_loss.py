"""Golden values for src/ops/loss.c (run: cd tests/golden && python3 gen_ops_loss.py).

Losses and log-densities without reduction, against torch.nn.functional / torch.distributions
(float64). The "_extreme" cases scale logits (or x) by 50 to prove the stable forms. The
cross-entropy targets are baked in here and in tests/test_ops_loss.c (the harness passes floats only).
"""
import math

import torch
import torch.nn.functional as F
from torch.distributions import AffineTransform, Bernoulli, Normal, SigmoidTransform, TransformedDistribution, Uniform

from opgen import BINARY, UNIT, inp, run_cases

BIG = 50.0
CE_T = [1, 0, 4, 2]           # targets of "ce" (4, 5)
CE_T_EXT = [0, 3, 1]          # targets of "ce_extreme" (3, 4)


def bce(l, t):
    l, t = torch.broadcast_tensors(l, t)
    return F.binary_cross_entropy_with_logits(l, t, reduction="none")


def mse(a, b):
    a, b = torch.broadcast_tensors(a, b)
    return F.mse_loss(a, b, reduction="none")


def ce(t):
    return lambda l: F.cross_entropy(l, torch.tensor(t), reduction="none")


def gauss(x, m, ls):
    return Normal(m, ls.exp()).log_prob(x)


def logistic(x, loc, ls):
    # closed form, float64: -z - log s - 2 softplus(-z), z = (x - loc) / s
    z = (x - loc) / ls.exp()
    return -z - ls - 2.0 * F.softplus(-z)


def logistic_torch(x, loc, ls):
    x, loc, ls = torch.broadcast_tensors(x, loc, ls)
    d = TransformedDistribution(Uniform(torch.zeros_like(x), torch.ones_like(x)),
                                [SigmoidTransform().inv, AffineTransform(loc, ls.exp())])
    return d.log_prob(x)


def bern(x, l):
    return Bernoulli(logits=l.expand(torch.broadcast_shapes(x.shape, l.shape))).log_prob(x)


C = dict(grad=False)
cases = [
    ("bce", [inp((3, 5)), inp((3, 5), UNIT, **C)], bce),
    ("bce_binary", [inp((4, 4)), inp((4, 4), BINARY, **C)], bce),
    ("bce_bcast", [inp((3, 5)), inp((5,), UNIT, **C)], bce),
    ("bce_extreme", [inp((2, 6)), inp((2, 6), BINARY, **C)], lambda l, t: bce(l * BIG, t)),
    ("mse", [inp((3, 5)), inp((3, 5))], mse),
    ("mse_bcast", [inp((2, 1, 4)), inp((3, 4))], mse),
    ("ce", [inp((4, 5))], ce(CE_T)),
    ("ce_extreme", [inp((3, 4))], lambda l: ce(CE_T_EXT)(l * BIG)),
    ("gauss", [inp((3, 4)), inp((3, 4)), inp((3, 4))], gauss),
    ("gauss_bcast", [inp((2, 3, 4)), inp((4,)), inp((3, 1))], gauss),
    ("gauss_bcast_x", [inp((4,)), inp((2, 4)), inp((1,))], gauss),
    ("logistic", [inp((3, 4)), inp((3, 4)), inp((3, 4))], logistic),
    ("logistic_bcast", [inp((2, 3, 4)), inp((3, 1)), inp((4,))], logistic),
    ("logistic_extreme", [inp((2, 5)), inp((2, 5)), inp((5,))], lambda x, m, ls: logistic(x * BIG, m, ls)),
    ("bern", [inp((3, 5), BINARY, **C), inp((3, 5))], bern),
    ("bern_bcast", [inp((2, 3), BINARY, **C), inp((3,))], bern),
    ("bern_extreme", [inp((2, 6), BINARY, **C), inp((2, 6))], lambda x, l: bern(x, l * BIG)),
]

if __name__ == "__main__":
    # cross-checks of the closed forms used above
    g = torch.Generator().manual_seed(1)
    x, m, ls = (torch.randn(3, 4, generator=g, dtype=torch.float64) for _ in range(3))
    assert torch.allclose(logistic(x, m, ls), logistic_torch(x, m, ls), atol=1e-10)
    assert torch.allclose(gauss(x, m, ls), -0.5 * ((x - m) / ls.exp()) ** 2 - ls - 0.5 * math.log(2 * math.pi))
    t = (x > 0).double()
    assert torch.allclose(bern(t, m), -bce(m, t))
    run_cases("loss", cases)
