"""Golden values for src/ops/norm.c (run: cd tests/golden && python3 gen_ops_norm.py).

Layer norm and batch norm (train and eval) against torch.nn.functional. Dropout has no golden
(torch's RNG differs): tests/test_ops_norm.c checks it with finite differences and statistics.
Besides the harness keys, the batch-norm training cases also store the running statistics after
one training call (<name>.rm, <name>.rv), starting from the running values below; the C test
(tests/test_ops_norm.c) uses the same starting values, momentum and eps.
"""
import torch
import torch.nn.functional as F

import opgen
from opgen import inp, run_cases

EPS = 1e-5
MOMENTUM = 0.3


def rm0(c):  # initial running mean / var, same formulas as test_ops_norm.c
    return torch.tensor([0.1 * k - 0.2 for k in range(c)], dtype=torch.float32).double()


def rv0(c):
    return torch.tensor([0.5 + 0.25 * k for k in range(c)], dtype=torch.float32).double()


extras = {}


def bn_train(name, affine=True):
    def fn(x, g=None, b=None):
        c = x.shape[1]
        rm, rv = rm0(c), rv0(c)
        y = F.batch_norm(x, rm, rv, g, b, training=True, momentum=MOMENTUM, eps=EPS)
        extras[f"{name}.rm"], extras[f"{name}.rv"] = rm.float(), rv.float()
        return y
    return fn


def bn_eval(x, g, b):
    c = x.shape[1]
    return F.batch_norm(x, rm0(c), rv0(c), g, b, training=False, momentum=MOMENTUM, eps=EPS)


cases = [
    ("ln_2d", [inp((4, 6)), inp((6,)), inp((6,))], lambda x, g, b: F.layer_norm(x, (6,), g, b, EPS)),
    ("ln_3d_noaffine", [inp((2, 3, 5))], lambda x: F.layer_norm(x, (5,), None, None, EPS)),
    ("ln_gamma_only", [inp((3, 8)), inp((8,))], lambda x, g: F.layer_norm(x, (8,), g, None, 1e-3)),
    ("bn_train_2d", [inp((6, 4)), inp((4,)), inp((4,))], bn_train("bn_train_2d")),
    ("bn_train_4d", [inp((3, 2, 3, 3)), inp((2,)), inp((2,))], bn_train("bn_train_4d")),
    ("bn_train_noaffine", [inp((4, 3, 2, 2))], bn_train("bn_train_noaffine")),
    ("bn_eval_2d", [inp((5, 4)), inp((4,)), inp((4,))], bn_eval),
    ("bn_eval_4d", [inp((2, 3, 2, 2)), inp((3,)), inp((3,))], bn_eval),
]

if __name__ == "__main__":
    # run_cases writes the file through opgen.write_safetensors; add the running stats to it
    _write = opgen.write_safetensors
    opgen.write_safetensors = lambda path, tensors, metadata=None: _write(path, {**tensors, **extras}, metadata)
    run_cases("norm", cases)
