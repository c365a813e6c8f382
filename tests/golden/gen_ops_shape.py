"""Golden values for src/ops/shape.c (run: cd tests/golden && python3 gen_ops_shape.py).

reshape (view and copy), transpose, permute, slice (negative bounds, compositions of views),
concat (2, 3 and 5 inputs, views as inputs, an input repeated), contiguous, index_select,
gather and embedding with repeated indices, and views flowing through other ops (unary,
binary, reductions, matmul, linear) to show they work through the whole system.
Index lists and case names must match tests/test_ops_shape.c.
"""
import torch
import torch.nn.functional as F
from opgen import inp, run_cases

IDX0 = [4, 0, 2, 0]            # index_select axis 0 of (5, 3)
IDX1 = [1, 1, 4]               # index_select axis 1 of (3, 5)
IDX3D = [3, 0, 3, 1, 2]        # index_select axis 1 of (2, 4, 3)
G1 = [[3, 0], [1, 1], [2, 3]]  # gather axis 1 of (3, 4), index (3, 2)
G0 = [[0, 1, 2], [3, 3, 0], [1, 0, 2], [2, 2, 2], [0, 3, 1], [3, 1, 0]]  # gather axis 0 of (4, 3), index (6, 3)
G2 = [[[0, 3, 3], [1, 2, 0]], [[2, 2, 1], [3, 0, 0]]]  # gather axis -1 of (2, 3, 4), index (2, 2, 3)
IDS = [5, 0, 2, 5, 1]          # embedding of (6, 4)

ti = lambda v: torch.tensor(v, dtype=torch.int64)

cases = [
    ("reshape_view", [inp((3, 4))], lambda x: x.reshape(2, -1, 2)),
    ("reshape_copy", [inp((3, 4))], lambda x: x.t().reshape(12)),
    ("reshape_4d", [inp((2, 3, 4))], lambda x: x.reshape(2, 2, 3, 2)),
    ("reshape_0d", [inp((1, 1))], lambda x: x.reshape(())),
    ("transpose_2d", [inp((3, 4))], lambda x: x.t()),
    ("transpose_3d", [inp((2, 3, 4))], lambda x: x.transpose(0, 2)),
    ("transpose_neg", [inp((2, 3, 4))], lambda x: x.transpose(-1, -2)),
    ("permute_4d", [inp((2, 3, 4, 2))], lambda x: x.permute(2, 0, 3, 1)),
    ("slice_ax1", [inp((3, 6))], lambda x: x[:, 1:4]),
    ("slice_neg", [inp((4, 5))], lambda x: x[-3:-1]),
    ("slice_last_3d", [inp((2, 3, 5))], lambda x: x[..., 2:5]),
    ("slice_of_perm", [inp((2, 3, 4))], lambda x: x.permute(2, 0, 1)[1:3]),
    ("slice_of_slice", [inp((5, 6))], lambda x: x[1:5, 1:5][1:3, 0:3]),
    ("perm_of_slice", [inp((3, 4, 5))], lambda x: x[:, 1:3, :].permute(2, 0, 1)),
    ("concat_ax1", [inp((2, 3)), inp((2, 1)), inp((2, 4))], lambda a, b, c: torch.cat([a, b, c], 1)),
    ("concat_ax0", [inp((2, 3)), inp((3, 3))], lambda a, b: torch.cat([a, b], 0)),
    ("concat_mid", [inp((2, 1, 3)), inp((2, 2, 3))], lambda a, b: torch.cat([a, b], -2)),
    ("concat_views", [inp((3, 2)), inp((2, 4))], lambda a, b: torch.cat([a.t(), b], 1)),
    ("concat_many", [inp((2, 2)), inp((2, 3)), inp((2, 6))],
     lambda a, b, c: torch.cat([a, b, c[:, 0:2], c[:, 2:6], a], 1)),
    ("contiguous_t", [inp((3, 4))], lambda x: x.t().contiguous()),
    ("index_select_ax0", [inp((5, 3))], lambda x: x.index_select(0, ti(IDX0))),
    ("index_select_ax1", [inp((3, 5))], lambda x: x.index_select(1, ti(IDX1))),
    ("index_select_3d", [inp((2, 4, 3))], lambda x: x.index_select(1, ti(IDX3D))),
    ("index_select_view", [inp((5, 3))], lambda x: x.t().index_select(-1, ti(IDX0))),
    ("gather_ax1", [inp((3, 4))], lambda x: torch.gather(x, 1, ti(G1))),
    ("gather_ax0", [inp((4, 3))], lambda x: torch.gather(x, 0, ti(G0))),
    ("gather_3d", [inp((2, 3, 4))], lambda x: torch.gather(x, -1, ti(G2))),
    ("gather_view", [inp((4, 3))], lambda x: torch.gather(x.t(), 1, ti(G1))),
    ("embedding", [inp((6, 4))], lambda w: F.embedding(ti(IDS), w)),
    # views through the rest of the system
    ("tanh_t", [inp((3, 4))], lambda x: torch.tanh(x.t())),
    ("exp_slice", [inp((4, 5))], lambda x: torch.exp(x[:, 1:4])),
    ("matmul_perm", [inp((3, 2, 4)), inp((2, 4, 5))], lambda a, b: torch.matmul(a.permute(1, 0, 2), b)),
    ("matmul_slice", [inp((4, 6)), inp((3, 2))], lambda a, b: a[:, 1:4] @ b),
    ("matmul_tt", [inp((5, 3)), inp((4, 5))], lambda a, b: a.t() @ b.t()),
    ("linear_t", [inp((5, 2)), inp((3, 5)), inp((3,))], lambda x, w, b: F.linear(x.t(), w, b)),
    ("view_chain", [inp((12,))], lambda x: torch.tanh(x.reshape(3, 4).t()[1:3]).sum(-1)),
    ("mul_sum_views", [inp((2, 3, 4)), inp((4, 3))],
     lambda a, b: (a.permute(0, 2, 1) * b).sum(1)),
    ("reshape_of_t_then_softmax", [inp((4, 3))], lambda x: torch.softmax(x.t().reshape(2, 6), -1)),
]

if __name__ == "__main__":
    run_cases("shape", cases)
