"""Golden values for src/ops/conv.c and src/ops/pool.c (run: cd tests/golden && python3 gen_ops_conv.py).

Cases must match tests/test_ops_conv.c (names, input shapes, parameters). Max-pool inputs are checked
here to have no near-ties inside any window, so the C finite-difference check (fd_eps 2.5e-4) cannot flip
an argmax.
"""
import torch
import torch.nn.functional as F
from opgen import AWAY0, inp, run_cases


def conv(stride=1, padding=0, dilation=1):
    return lambda x, w, b=None: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)


def convt(stride=1, padding=0, output_padding=0, dilation=1):
    return lambda x, w, b=None: F.conv_transpose2d(x, w, b, stride=stride, padding=padding,
                                                   output_padding=output_padding, dilation=dilation)


cases = [
    # conv2d: x (B,C,H,W), w (O,C,kh,kw), b (O)
    ("conv_plain", [inp((2, 3, 5, 5)), inp((4, 3, 3, 3)), inp((4,))], conv()),
    ("conv_stride2", [inp((2, 3, 7, 7)), inp((4, 3, 3, 3)), inp((4,))], conv(stride=2)),
    ("conv_pad1", [inp((2, 3, 5, 5)), inp((4, 3, 3, 3)), inp((4,))], conv(padding=1)),
    ("conv_dil2", [inp((2, 3, 7, 7)), inp((4, 3, 3, 3)), inp((4,))], conv(dilation=2)),
    ("conv_nobias", [inp((2, 3, 6, 6)), inp((4, 3, 3, 3))], conv(stride=2, padding=1)),
    ("conv_nonsquare", [inp((2, 3, 7, 6)), inp((4, 3, 3, 2)), inp((4,))],
     conv(stride=(1, 2), padding=(0, 1), dilation=(2, 1))),
    ("conv_1x1", [inp((2, 3, 4, 4)), inp((4, 3, 1, 1)), inp((4,))], conv()),
    # conv_transpose2d: x (B,C_in,H,W), w (C_in,O,kh,kw), b (O)
    ("convt_plain", [inp((2, 3, 4, 4)), inp((3, 4, 3, 3)), inp((4,))], convt()),
    ("convt_s2p1op1", [inp((2, 3, 4, 4)), inp((3, 4, 3, 3)), inp((4,))],
     convt(stride=2, padding=1, output_padding=1)),
    ("convt_dil2", [inp((2, 3, 4, 4)), inp((3, 4, 3, 3)), inp((4,))], convt(dilation=2)),
    ("convt_nonsquare", [inp((2, 3, 3, 4)), inp((3, 2, 2, 3))],
     convt(stride=(2, 1), padding=(0, 1), output_padding=(1, 0), dilation=(1, 2))),
    ("convt_outpad_dil", [inp((1, 2, 4, 4)), inp((2, 3, 3, 3)), inp((3,))],
     convt(stride=1, dilation=2, output_padding=1)),
    # pooling: x (B,C,H,W)
    ("avg_k2s2", [inp((2, 3, 6, 6))], lambda x: F.avg_pool2d(x, 2, 2, 0)),
    ("avg_k3s1p1", [inp((2, 3, 5, 5))], lambda x: F.avg_pool2d(x, 3, 1, 1)),
    ("avg_k3s2p1", [inp((2, 3, 7, 7))], lambda x: F.avg_pool2d(x, 3, 2, 1)),
    ("max_k2s2", [inp((2, 3, 6, 6))], lambda x: F.max_pool2d(x, 2, 2, 0)),
    ("max_k3s1p1", [inp((2, 3, 5, 5))], lambda x: F.max_pool2d(x, 3, 1, 1)),
    ("max_k3s2p1", [inp((2, 3, 7, 7))], lambda x: F.max_pool2d(x, 3, 2, 1)),
    # conv2d_fused: res + conv2d(relu(x)) (x away from the kink), appended so earlier cases keep their draws
    ("fused_relu_res", [inp((2, 3, 5, 5), AWAY0), inp((4, 3, 3, 3)), inp((4,)), inp((2, 4, 5, 5))],
     lambda x, w, b, r: r + F.conv2d(F.relu(x), w, b, padding=1)),
    ("fused_relu_s2", [inp((2, 3, 6, 6), AWAY0), inp((4, 3, 3, 3)), inp((4,)), inp((2, 4, 3, 3))],
     lambda x, w, b, r: r + F.conv2d(F.relu(x), w, b, stride=2, padding=1)),
    ("fused_res_nobias", [inp((2, 3, 5, 5)), inp((4, 3, 3, 3)), inp((2, 4, 5, 5))],
     lambda x, w, r: r + F.conv2d(x, w, None, padding=1)),
]

# Max-pool FD safety: in each window, the top value must beat the runner-up by more than
# 4 * fd_eps * max(1, |x|) (the stencil moves one element by up to 2h).
FD_EPS = 2.5e-4


def check_max_gaps(x, k, s, p):
    xp = F.pad(x, (p, p, p, p), value=float("-inf"))
    win = xp.unfold(2, k, s).unfold(3, k, s).reshape(*xp.shape[:2], -1, k * k)
    top2 = win.topk(2, dim=-1).values
    gap = top2[..., 0] - top2[..., 1]
    scale = top2.abs().amax(dim=-1).clamp(min=1.0)
    ratio = (gap / (4 * FD_EPS * scale)).min().item()
    assert ratio > 1.0, f"max-pool window near-tie (gap / (4 h) = {ratio})"
    return ratio


if __name__ == "__main__":
    run_cases("conv", cases)
    # re-read the written inputs and verify the max-pool gap condition
    import json, struct, os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_conv.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        blob = f.read()
    for name, k, s, p in [("max_k2s2", 2, 2, 0), ("max_k3s1p1", 3, 1, 1), ("max_k3s2p1", 3, 2, 1)]:
        e = hdr[name + ".in0"]
        a, b = e["data_offsets"]
        x = torch.frombuffer(bytearray(blob[a:b]), dtype=torch.float32).reshape(e["shape"]).double()
        print(f"{name}: min top-2 gap / (4 h) {check_max_gaps(x, k, s, p):.4g}")
