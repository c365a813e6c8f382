"""Golden values for src/ops/binary.c (run: cd tests/golden && python3 gen_ops_binary.py).

Covers add/sub/mul/div with same shapes, scalars (0-d and (1,)), row vectors, general broadcasts
up to 4-D, one tensor used as both operands, and strided views (transpose, slice, permute) as
operands. Case names and input shapes must match tests/test_ops_binary.c.
"""
from opgen import ANY, POS, inp, run_cases

cases = [
    ("add_same", [inp((3, 5)), inp((3, 5))], lambda a, b: a + b),
    ("sub_same", [inp((3, 5)), inp((3, 5))], lambda a, b: a - b),
    ("mul_same", [inp((3, 5)), inp((3, 5))], lambda a, b: a * b),
    ("div_same", [inp((3, 5)), inp((3, 5), POS)], lambda a, b: a / b),
    ("add_row", [inp((4, 5)), inp((5,))], lambda a, b: a + b),
    ("sub_row_rev", [inp((5,)), inp((4, 5))], lambda a, b: a - b),
    ("mul_row", [inp((4, 5)), inp((1, 5))], lambda a, b: a * b),
    ("div_row", [inp((4, 5)), inp((5,), POS)], lambda a, b: a / b),
    ("add_row3", [inp((2, 3, 4)), inp((3, 4))], lambda a, b: a + b),
    ("add_scalar0d", [inp((3, 5)), inp(())], lambda a, b: a + b),
    ("sub_scalar0d", [inp((3, 5)), inp(())], lambda a, b: a - b),
    ("mul_scalar1", [inp((1,)), inp((3, 5))], lambda a, b: a * b),
    ("div_scalar_num", [inp(()), inp((3, 5), POS)], lambda a, b: a / b),
    ("div_scalar_den", [inp((3, 5)), inp((), POS)], lambda a, b: a / b),
    ("add_bcast3", [inp((2, 1, 4)), inp((3, 1))], lambda a, b: a + b),
    ("mul_bcast4", [inp((2, 3, 1, 4)), inp((3, 5, 1))], lambda a, b: a * b),
    ("sub_outer", [inp((4, 1)), inp((1, 5))], lambda a, b: a - b),
    ("div_bcast", [inp((2, 3, 4)), inp((3, 1), POS)], lambda a, b: a / b),
    ("add_chan", [inp((2, 3, 2, 2)), inp((1, 3, 1, 1))], lambda a, b: a + b),
    ("mul_self", [inp((3, 4))], lambda a: a * a),
    ("div_self_row", [inp((3, 4), POS)], lambda a: a / a[0]),
    ("add_tview", [inp((5, 3)), inp((3, 5))], lambda a, b: a.t() + b),
    ("mul_tview_row", [inp((5, 4)), inp((5,))], lambda a, b: a.t() * b),
    ("div_slice", [inp((3, 7)), inp((3, 5), POS)], lambda a, b: a[:, 1:6] / b),
    ("sub_perm_bcast", [inp((3, 2, 4)), inp((4,))], lambda a, b: a.permute(1, 0, 2) - b),
    ("mul_two_views", [inp((4, 3)), inp((3, 6))], lambda a, b: a.t() * b[:, 1:5]),
]

if __name__ == "__main__":
    run_cases("binary", cases)
