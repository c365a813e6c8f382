"""Golden values for src/ops/reduce.c (run: cd tests/golden && python3 gen_ops_reduce.py).

sum / mean / max / logsumexp over one axis (positive and negative, keepdim or not) and over all
axes, log_softmax / softmax over last, first and middle axes, large-magnitude inputs (stability),
and reductions of strided views (slice, transpose, permute). max cases add a constant offset grid
(spacing 10) so the argmax is unique and far from ties for finite differences.
Case names and input shapes must match tests/test_ops_reduce.c.
"""
import torch
from opgen import inp, run_cases


def grid(shape, fn):
    """Constant offsets: fn(multi-index) * 10, as in test_ops_reduce.c."""
    t = torch.zeros(shape, dtype=torch.float64)
    for idx in torch.cartesian_prod(*[torch.arange(s) for s in shape]).reshape(-1, len(shape)).tolist():
        t[tuple(idx)] = 10.0 * fn(*idx)
    return t


OFF_ROW = grid((4, 5), lambda i, j: (3 * i + 2 * j) % 5)      # max over axis 1
OFF_COL = grid((5, 3), lambda i, j: (2 * i + 3 * j) % 5)      # max over axis 0
OFF_ALL = grid((3, 4), lambda i, j: ((i * 4 + j) * 7) % 12)   # max over all
OFF_MID = grid((2, 5, 3), lambda a, i, c: (2 * i + a + c) % 5)  # max over axis 1

cases = [
    ("sum_ax0", [inp((3, 5))], lambda x: x.sum(0)),
    ("sum_last_keep", [inp((3, 5))], lambda x: x.sum(-1, keepdim=True)),
    ("sum_all", [inp((3, 5))], lambda x: x.sum()),
    ("sum_all_keep", [inp((2, 3, 4))], lambda x: x.sum(dim=(0, 1, 2), keepdim=True)),
    ("sum_mid", [inp((2, 3, 4))], lambda x: x.sum(1)),
    ("sum_4d_ax2", [inp((2, 2, 3, 2))], lambda x: x.sum(2)),
    ("sum_1d", [inp((7,))], lambda x: x.sum(0)),
    ("mean_ax1", [inp((3, 5))], lambda x: x.mean(1)),
    ("mean_all", [inp((2, 3, 4))], lambda x: x.mean()),
    ("mean_ax0_keep", [inp((4, 3))], lambda x: x.mean(0, keepdim=True)),
    ("max_ax1", [inp((4, 5))], lambda x: (x + OFF_ROW).amax(1)),
    ("max_ax0_keep", [inp((5, 3))], lambda x: (x + OFF_COL).amax(0, keepdim=True)),
    ("max_all", [inp((3, 4))], lambda x: (x + OFF_ALL).amax()),
    ("max_mid", [inp((2, 5, 3))], lambda x: (x + OFF_MID).amax(1)),
    ("logsumexp_ax1", [inp((3, 5))], lambda x: torch.logsumexp(x, 1)),
    ("logsumexp_ax0_keep", [inp((4, 3))], lambda x: torch.logsumexp(x, 0, keepdim=True)),
    ("logsumexp_all", [inp((2, 3, 4))], lambda x: torch.logsumexp(x.reshape(-1), 0)),
    ("logsumexp_mid", [inp((2, 4, 3))], lambda x: torch.logsumexp(x, 1)),
    ("logsumexp_big", [inp((3, 5))], lambda x: torch.logsumexp(x * 50.0, -1)),
    ("log_softmax_last", [inp((3, 5))], lambda x: torch.log_softmax(x, -1)),
    ("log_softmax_ax0", [inp((4, 3))], lambda x: torch.log_softmax(x, 0)),
    ("log_softmax_mid", [inp((2, 4, 3))], lambda x: torch.log_softmax(x, 1)),
    ("log_softmax_big", [inp((3, 5))], lambda x: torch.log_softmax(x * 50.0, -1)),
    ("softmax_last", [inp((3, 5))], lambda x: torch.softmax(x, -1)),
    ("softmax_mid", [inp((2, 4, 3))], lambda x: torch.softmax(x, 1)),
    ("softmax_all", [inp((2, 3))], lambda x: torch.softmax(x.reshape(-1), 0).reshape(2, 3)),
    ("softmax_big", [inp((3, 5))], lambda x: torch.softmax(x * 40.0, -1)),
    # reductions of views
    ("sum_slice", [inp((4, 6))], lambda x: x[:, 1:5].sum(0)),
    ("mean_transposed", [inp((3, 5))], lambda x: x.t().mean(-1)),
    ("max_transposed", [inp((5, 4))], lambda x: (x.t() + OFF_ROW).amax(1)),
    ("logsumexp_slice_all", [inp((4, 5))], lambda x: torch.logsumexp(x[1:3].reshape(-1), 0)),
    ("softmax_permuted", [inp((2, 3, 4))], lambda x: torch.softmax(x.permute(2, 0, 1), -1)),
    ("log_softmax_slice", [inp((3, 6))], lambda x: torch.log_softmax(x[:, 2:6], -1)),
]

if __name__ == "__main__":
    run_cases("reduce", cases)
