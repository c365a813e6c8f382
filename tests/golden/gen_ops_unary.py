"""Golden values for src/ops/unary.c and src/ops/linear.c (run: python3 tests/golden/gen_ops_unary.py)."""
import torch
import torch.nn.functional as F
from opgen import ANY, AWAY0, POS, UNIT, inp, run_cases

S = (3, 5)
cases = [
    ("neg", [inp(S)], lambda x: -x),
    ("exp", [inp(S)], torch.exp),
    ("log", [inp(S, POS)], torch.log),
    ("sqrt", [inp(S, POS)], torch.sqrt),
    ("pow", [inp(S, POS)], lambda x: x ** 2.5),
    ("abs", [inp(S, AWAY0)], torch.abs),
    ("tanh", [inp(S)], torch.tanh),
    ("sigmoid", [inp(S)], torch.sigmoid),
    ("log_sigmoid", [inp(S)], F.logsigmoid),
    ("relu", [inp(S, AWAY0)], F.relu),
    ("leaky_relu", [inp(S, AWAY0)], lambda x: F.leaky_relu(x, 0.2)),
    ("elu", [inp(S, AWAY0)], lambda x: F.elu(x, 1.3)),
    ("softplus", [inp(S)], F.softplus),
    ("gelu", [inp(S)], F.gelu),
    ("silu", [inp(S)], F.silu),
    ("scale", [inp(S)], lambda x: -1.7 * x),
    ("add_scalar", [inp(S)], lambda x: x + 0.3),
    ("softplus_big", [inp((2, 4), ANY)], lambda x: F.softplus(x * 30.0)),
    # linear algebra
    ("matmul", [inp((4, 3)), inp((3, 5))], torch.matmul),
    ("matmul_batched", [inp((2, 4, 3)), inp((2, 3, 5))], torch.matmul),
    ("matmul_at", [inp((3, 4)), inp((3, 5))], lambda a, b: a.t() @ b),
    ("linear", [inp((6, 7)), inp((5, 7)), inp((5,))], F.linear),
    ("linear_nobias", [inp((2, 3, 7)), inp((5, 7))], F.linear),
    ("linear_masked", [inp((6, 7)), inp((5, 7)), inp((5,))],
     lambda x, w, b: F.linear(x, w * (torch.arange(35).reshape(5, 7) % 3 != 0).double(), b)),
    # a staircase mask (row o zero from column L(o) on, tests/test_ops_unary.c: stair_len): the block path
    ("linear_masked_stair", [inp((5, 70)), inp((80, 70)), inp((80,))],
     lambda x, w, b: F.linear(x, w * (torch.arange(70)[None, :] < torch.tensor(
         [min(70, o * 70 // 80 + (15 if o % 7 == 3 else 0)) for o in range(80)])[:, None]).double(), b)),
]
if __name__ == "__main__":
    run_cases("unary", cases)
