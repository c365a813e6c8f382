"""gen_flows.py — PyTorch golden values for the flow models nice, realnvp and flow2d.

Writes tests/golden/flows.safetensors (run: cd tests/golden && python3 gen_flows.py), read by
tests/test_flows_golden.c. A float64 re-implementation written from the documented math of
src/flows/flow.h, flow_layers.c, flow_build.c, flow_nets.c and src/models/{flow_common,nice,
realnvp,flow2d}.c (genmod itself is never called). Per layer, x -> y with log|det dy/dx|:

  coupling  x_a conditions, x_b is transformed. Vector data, alternating mask: dims d with
            (d + parity) even condition. Images, checkerboard: pixels with (row + col + parity)
            even condition, the net sees x * m and s, t are zeroed on the conditioning pixels;
            channel mask: first half of the channels conditions (parity 0) or the second (1).
            (s_raw, t) = net(x_a) (first / second half of the output channels), s = scale *
            tanh(s_raw); affine y_b = x_b * exp(s) + t (log-det sum s), additive y_b = x_b + t.
            MLP net: [linear, ReLU] x depth, linear. ResNet: conv3x3, depth x [h += conv(relu(
            conv(relu(h))))], conv3x3(relu(h)), padding 1.
  scale     y = x * exp(s)                                         sum s
  actnorm   y = (x + b) * exp(s) per channel                       H W sum s
  inv1x1    y = W x per pixel                                      H W log|det W|
            LU: W = perm (tril(lower,-1) + I) (triu(upper,1) + diag(sign_s exp(log_s)))  H W sum log_s
  permute   y = x[:, perm]                                         0
  batchnorm (eval) y = (x - running_mean) / sqrt(running_var + 1e-4) * exp(log_gamma) + beta
                                                                   H W sum(log_gamma - log(var + eps)/2)
  squeeze   x.view(B,C,H/2,2,W/2,2).permute(0,1,3,5,2,4).reshape(B,4C,H/2,W/2)
  split     the first half of the channels leaves the flow; z = [every factored-out part
            flattened, in order, then the final activations flattened]
Models (dequantize none everywhere, so no noise): flow2d and nice act on x directly; realnvp first
maps x in (0,1) to logit(a + (1 - 2a) x), a = 0.05, adding sum(log(1 - 2a) - log s - log(1 - s)).
Priors: gaussian -z^2/2 - log(2 pi)/2, logistic -softplus(z) - softplus(-z), summed over dims.
log p(x) = prior(z) + flow log-det + preprocessing log-det.

Cases (8 rows each):
  flow2d_d2     flow2d D=2: layers 3, hidden 8, depth 2, affine, actnorm 1, mix lu, batchnorm 1, gaussian
  flow2d_d5     flow2d D=5: layers 4, hidden 6, depth 1, additive, mix random, logistic
  flow2d_d3     flow2d D=3: layers 2, hidden 5, depth 2, affine, mix inv1x1, gaussian
  nice_d16      nice D=16: couplings 4, hidden 12, depth 2, logistic
  realnvp_1x8x8 realnvp 1x8x8: scales 2, features 4, blocks 1, actnorm 1, inv1x1 plain, batchnorm 1
  realnvp_2x4x4 realnvp 2x4x4: scales 2, features 3, blocks 0, actnorm 0, inv1x1 lu
Keys: "<case>/<parameter name>" (every parameter and buffer, the C names), "<case>/x" (8, D),
"<case>/logp" (8), "<case>/z" (8, D) and, for flow2d_d2, nice_d16 and realnvp_1x8x8,
"<case>/grad/<name>" = d mean_b log p(x_b) / d parameter for every trainable parameter, in eval
mode (batch norm with its running statistics, which are constants).
Parameters are drawn in float32 (what is stored) and used in float64: every trainable tensor is
its C initial value plus N(0, 0.2^2) (initial value 1 for a coupling's "scale", 0 otherwise),
except 3x3 conv weights, N(0, 0.1^2) (with 0.2 the activations of the image flows grow to |z| ~ 200
and log p ~ -2e4, which float32 cannot check tightly), and a plain 1x1 weight, a random orthogonal
matrix plus N(0, 0.1^2) (condition number < 4); buffers: random permutations
(exact float indices / permutation matrices), sign_s = random +-1, running_mean ~ N(0, 0.3^2),
running_var = exp(N(0, 0.3^2)). x ~ N(0,1) for flow2d and nice, U(0.05, 0.95) for realnvp.

Self-checks (fail loudly): inverse(forward(x)) == x within 1e-10 per case; log p against an
independent evaluation through the Jacobian (log|det dz/dx| of the whole map, preprocessing
included, by autograd, per row) within 1e-9; stored inputs exactly float32.

Anchors (Part C): on the same weights, our reference layers are compared with independent
libraries' layers (forward, inverse and log-det; max abs diff < 1e-10 in float64 asserted):
  normflows: flows.Invertible1x1Conv(use_lu=True) (P, L, U, sign_S, log_S = perm, lower, upper,
             sign_s, log_s; its inverse() is our forward) and (use_lu=False), flows.ActNorm
             (s = log_scale, t = bias * exp(log_scale)) on images and vectors,
             flows.AffineConstFlow(shift=False) as NICE's scaling layer,
             flows.MaskedAffineFlow (checkerboard affine couplings on images, both parities, 1 and 2
             channels; alternating affine / additive couplings on vectors), flows.AffineCouplingBlock with split_mode
             channel / channel_inv (our channel-mask coupling, parity 0 / 1; its param_map
             interleaves shift and scale), flows.Permute(mode="shuffle"), flows.Squeeze (its
             inverse() is our squeeze).
  nflows:    transforms.AdditiveCouplingTransform (NICE's coupling, the same MLP as its net,
             both parities), transforms.Permutation, transforms.SqueezeTransform,
             transforms.ActNorm (shift = bias * exp(log_scale)), transforms.BatchNorm in eval mode
             (unconstrained_weight = softplus^-1(exp(log_gamma) - eps), eps = 1e-4), and
             transforms.LULinear followed by transforms.Permutation as our LU 1x1 layer on vectors
             (upper diagonal softplus(u) + 1e-3 = exp(log_s); sign_s = +1 only: LULinear has no sign).
  Not compared, different conventions: nflows' AffineCouplingTransform (scale = sigmoid(raw + 2)
  + 1e-3, not exp(scale * tanh(raw))), nflows' OneByOneConvolution (permutation before L U, ours
  after), normflows' BatchNorm (batch statistics with the unbiased std, no running statistics or
  affine parameters). The anchors need normflows and nflows (pip install normflows nflows); the
  golden values do not, and the C tests never run Python.

Output is byte-identical when re-run.
"""
import math
import os

import torch
import torch.nn.functional as F

from opgen import write_safetensors

F64 = torch.float64
B = 8
BN_EPS = 1e-4
ALPHA = 0.05
LN_2PI = math.log(2 * math.pi)


class CheckError(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise CheckError("gen_flows.py self-check FAILED: " + msg)


# ---------------------------------------------------------------- the flow, as the C builders lay it out

class Flow:
    """Mirrors gm_flow: a list of layers over (C, H, W) (vectors: C = D, H = W = 1) and the
    declared parameters {name: (shape, trainable, role)} in declaration order."""

    def __init__(self, dim, image=False, c=0, h=0, w=0):
        self.image = image
        self.dim = dim
        self.c, self.h, self.w = (c, h, w) if image else (dim, 1, 1)
        self.c0, self.h0, self.w0 = self.c, self.h, self.w
        self.layers = []
        self.decl = {}
        self.z_used = 0

    def _push(self, kind, **kw):
        L = dict(kind=kind, k=len(self.layers), c=self.c, h=self.h, w=self.w, p={}, **kw)
        self.layers.append(L)
        return L

    def _param(self, L, name, shape, trainable=True, role="normal"):
        full = f"layer{L['k']}.{name}"
        self.decl[full] = (tuple(shape), trainable, role)
        L["p"][name] = full

    def _chan(self, n):
        return (n, 1, 1) if self.image else (n,)

    def coupling(self, affine, mask, parity, hidden, depth):
        L = self._push("coupling", affine=affine, mask=mask, parity=parity)
        if not self.image:
            D = self.c
            if mask == "alternate":
                cond = [(d + parity) % 2 == 0 for d in range(D)]
            else:  # half
                cond = [(d < D // 2) == (parity == 0) for d in range(D)]
            L["idx_a"] = [d for d in range(D) if cond[d]]
            L["idx_b"] = [d for d in range(D) if not cond[d]]
            n_in, n_tr = len(L["idx_a"]), len(L["idx_b"])
            conv = False
        elif mask == "checker":
            n_in = n_tr = self.c
            conv = True
        else:  # channel
            n_in = n_tr = self.c // 2
            conv = True
        n_out = (2 if affine else 1) * n_tr
        n_layers = 2 + 2 * depth if conv else depth + 1
        L["net"] = dict(conv=conv, depth=depth, n_layers=n_layers, n_tr=n_tr)
        for l in range(n_layers):
            fi = n_in if l == 0 else hidden
            fo = n_out if l == n_layers - 1 else hidden
            kind = "conv" if conv else "lin"
            wshape = (fo, fi, 3, 3) if conv else (fo, fi)
            self._param(L, f"net.{kind}{l}.weight", wshape, role="conv" if conv else "normal")
            self._param(L, f"net.{kind}{l}.bias", (fo,))
        if affine:
            self._param(L, "scale", self._chan(n_tr), role="one")
        return L

    def scale(self):
        L = self._push("scale")
        self._param(L, "log_scale", (self.c, self.h, self.w) if self.image else (self.c,))

    def actnorm(self):
        L = self._push("actnorm")
        self._param(L, "bias", self._chan(self.c))
        self._param(L, "log_scale", self._chan(self.c))

    def inv1x1(self, lu):
        n = self.c
        if not lu:
            L = self._push("inv1x1")
            self._param(L, "weight", (n, n), role="orthogonal")
            return
        L = self._push("inv1x1_lu")
        self._param(L, "lower", (n, n))
        self._param(L, "upper", (n, n))
        self._param(L, "log_s", (n,))
        self._param(L, "perm", (n, n), trainable=False, role="perm_matrix")
        self._param(L, "sign_s", (n,), trainable=False, role="sign")

    def permute(self, reverse):
        L = self._push("permute")
        self._param(L, "perm", (self.c,), trainable=False, role="reverse" if reverse else "perm_vector")

    def batchnorm(self):
        L = self._push("batchnorm")
        self._param(L, "log_gamma", self._chan(self.c))
        self._param(L, "beta", self._chan(self.c))
        self._param(L, "running_mean", self._chan(self.c), trainable=False, role="running_mean")
        self._param(L, "running_var", self._chan(self.c), trainable=False, role="running_var")

    def squeeze(self):
        check(self.image and self.h % 2 == 0 and self.w % 2 == 0, "squeeze geometry")
        self._push("squeeze")
        self.c, self.h, self.w = 4 * self.c, self.h // 2, self.w // 2

    def split(self):
        check(self.image and self.c % 2 == 0, "split geometry")
        L = self._push("split")
        L["z_off"] = self.z_used
        L["z_len"] = (self.c // 2) * self.h * self.w
        self.z_used += L["z_len"]
        self.c //= 2


# ---------------------------------------------------------------- the models' architectures (nice.c, realnvp.c, flow2d.c)

def build_flow2d(D, layers, hidden, depth, coupling, actnorm, mix, batchnorm):
    f = Flow(D)
    mi = ["none", "reverse", "random", "inv1x1", "lu"].index(mix)
    for k in range(layers):
        if actnorm:
            f.actnorm()
        if mi == 1:
            f.permute(True)
        if mi == 2:
            f.permute(False)
        if mi >= 3:
            f.inv1x1(mi == 4)
        f.coupling(coupling == "affine", "alternate", 0 if mi else k % 2, hidden, depth)
        if batchnorm:
            f.batchnorm()
    return f


def build_nice(D, couplings, hidden, depth):
    f = Flow(D)
    for k in range(couplings):
        f.coupling(False, "alternate", k % 2, hidden, depth)
    f.scale()
    return f


def build_realnvp(c, h, w, scales, features, blocks, actnorm, inv1x1, batchnorm):
    f = Flow(c * h * w, True, c, h, w)

    def step(mask, parity):
        if actnorm:
            f.actnorm()
        if inv1x1 != "none" and f.c >= 2:
            f.inv1x1(inv1x1 == "lu")
        f.coupling(True, mask, parity, features, blocks)
        if batchnorm:
            f.batchnorm()

    for s in range(scales):
        last = s == scales - 1
        for j in range(4 if last else 3):
            step("checker", j % 2)
        if last:
            break
        f.squeeze()
        for j in range(3):
            step("channel", j % 2)
        f.split()
    return f


# ---------------------------------------------------------------- parameters

def draw_params(flow, seed):
    """{name: float64 tensor holding float32 values} for every declared parameter and buffer."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, (shape, trainable, role) in flow.decl.items():
        if role == "normal":
            v = 0.2 * torch.randn(shape, generator=g)
        elif role == "conv":
            v = 0.1 * torch.randn(shape, generator=g)
        elif role == "one":
            v = 1.0 + 0.2 * torch.randn(shape, generator=g)
        elif role == "orthogonal":
            n = shape[0]
            while True:
                q, r = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
                v = (q * torch.sign(torch.diagonal(r))).float() + 0.1 * torch.randn(n, n, generator=g)
                if torch.linalg.cond(v.double()) < 4:
                    break
        elif role == "perm_matrix":
            v = torch.eye(shape[0])[torch.randperm(shape[0], generator=g)]
        elif role == "perm_vector":
            v = torch.randperm(shape[0], generator=g).float()
        elif role == "reverse":
            v = torch.arange(shape[0] - 1, -1, -1).float()
        elif role == "sign":
            v = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
        elif role == "running_mean":
            v = 0.3 * torch.randn(shape, generator=g)
        elif role == "running_var":
            v = torch.exp(0.3 * torch.randn(shape, generator=g))
        else:
            raise ValueError(role)
        out[name] = v.float().to(F64)
    return out


# ---------------------------------------------------------------- layers (float64, differentiable)

def mlp(P, L, x):
    h = x
    n = L["net"]["n_layers"]
    for l in range(n):
        h = F.linear(h, P[L["p"][f"net.lin{l}.weight"]], P[L["p"][f"net.lin{l}.bias"]])
        if l < n - 1:
            h = torch.relu(h)
    return h


def resnet(P, L, x):
    def conv(l, v):
        return F.conv2d(v, P[L["p"][f"net.conv{l}.weight"]], P[L["p"][f"net.conv{l}.bias"]], padding=1)
    h = conv(0, x)
    for b in range(L["net"]["depth"]):
        r = conv(1 + 2 * b, torch.relu(h))
        r = conv(2 + 2 * b, torch.relu(r))
        h = h + r
    return conv(L["net"]["n_layers"] - 1, torch.relu(h))


def net_st(P, L, xa):
    """(s or None, t) of a coupling from its conditioning input."""
    o = mlp(P, L, xa) if not L["net"]["conv"] else resnet(P, L, xa)
    nt = L["net"]["n_tr"]
    if not L["affine"]:
        return None, o
    scale = P[L["p"]["scale"]]
    if o.dim() == 4:
        scale = scale.reshape(1, nt, 1, 1)
    return scale * torch.tanh(o[:, :nt]), o[:, nt:2 * nt]


def checker_mask(L, dtype=F64):
    hh, ww = L["h"], L["w"]
    yy, xx = torch.meshgrid(torch.arange(hh), torch.arange(ww), indexing="ij")
    return ((yy + xx + L["parity"]) % 2 == 0).to(dtype)  # 1 = conditions


def coupling(P, L, x, inverse):
    if x.dim() == 2:
        ia, ib = torch.tensor(L["idx_a"]), torch.tensor(L["idx_b"])
        xa, xb = x[:, ia], x[:, ib]
        s, t = net_st(P, L, xa)
        if not inverse:
            yb = xb * torch.exp(s) + t if s is not None else xb + t
            ld = s.sum(1) if s is not None else torch.zeros(x.shape[0], dtype=x.dtype)
        else:
            yb = (xb - t) * torch.exp(-s) if s is not None else xb - t
            ld = None
        y = torch.zeros_like(x)
        y = y.index_copy(1, ia, xa).index_copy(1, ib, yb)
        return y, ld
    if L["mask"] == "checker":
        m = checker_mask(L)
        s, t = net_st(P, L, x * m)
        mc = 1 - m
        t = t * mc
        if s is not None:
            s = s * mc
        if not inverse:
            y = x * torch.exp(s) + t if s is not None else x + t
            ld = s.sum((1, 2, 3)) if s is not None else torch.zeros(x.shape[0], dtype=x.dtype)
            return y, ld
        return ((x - t) * torch.exp(-s) if s is not None else x - t), None
    c2 = L["c"] // 2
    first, second = x[:, :c2], x[:, c2:]
    xa, xb = (second, first) if L["parity"] else (first, second)
    s, t = net_st(P, L, xa)
    if not inverse:
        yb = xb * torch.exp(s) + t if s is not None else xb + t
        ld = s.sum((1, 2, 3)) if s is not None else torch.zeros(x.shape[0], dtype=x.dtype)
    else:
        yb = (xb - t) * torch.exp(-s) if s is not None else xb - t
        ld = None
    return (torch.cat([yb, xa], 1) if L["parity"] else torch.cat([xa, yb], 1)), ld


def lu_weight(P, L):
    n = L["c"]
    lower = torch.tril(P[L["p"]["lower"]], -1) + torch.eye(n, dtype=F64)
    upper = torch.triu(P[L["p"]["upper"]], 1) + torch.diag(P[L["p"]["sign_s"]] * torch.exp(P[L["p"]["log_s"]]))
    return P[L["p"]["perm"]] @ lower @ upper


def apply_matrix(w, x):
    if x.dim() == 2:
        return x @ w.t()
    return torch.einsum("ij,bjhw->bihw", w, x)


def layer_fwd(P, L, x):
    """y, log|det| (B) of one layer (split excluded)."""
    Bn = x.shape[0]
    hw = L["h"] * L["w"]
    kind = L["kind"]
    if kind == "coupling":
        return coupling(P, L, x, False)
    if kind == "scale":
        s = P[L["p"]["log_scale"]]
        return x * torch.exp(s), s.sum().expand(Bn)
    if kind == "actnorm":
        b, s = P[L["p"]["bias"]], P[L["p"]["log_scale"]]
        return (x + b) * torch.exp(s), (hw * s.sum()).expand(Bn)
    if kind == "inv1x1":
        w = P[L["p"]["weight"]]
        return apply_matrix(w, x), (hw * torch.linalg.slogdet(w).logabsdet).expand(Bn)
    if kind == "inv1x1_lu":
        return apply_matrix(lu_weight(P, L), x), (hw * P[L["p"]["log_s"]].sum()).expand(Bn)
    if kind == "permute":
        return x[:, P[L["p"]["perm"]].long()], torch.zeros(Bn, dtype=x.dtype)
    if kind == "batchnorm":
        lg, beta = P[L["p"]["log_gamma"]], P[L["p"]["beta"]]
        rm, rv = P[L["p"]["running_mean"]], P[L["p"]["running_var"]]
        y = (x - rm) / torch.sqrt(rv + BN_EPS) * torch.exp(lg) + beta
        return y, (hw * (lg.sum() - 0.5 * torch.log(rv + BN_EPS).sum())).expand(Bn)
    if kind == "squeeze":
        b_, c, h, w = x.shape
        y = x.reshape(b_, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b_, 4 * c, h // 2, w // 2)
        return y, torch.zeros(Bn, dtype=x.dtype)
    raise ValueError(kind)


def layer_inv(P, L, y):
    kind = L["kind"]
    if kind == "coupling":
        return coupling(P, L, y, True)[0]
    if kind == "scale":
        return y * torch.exp(-P[L["p"]["log_scale"]])
    if kind == "actnorm":
        return y * torch.exp(-P[L["p"]["log_scale"]]) - P[L["p"]["bias"]]
    if kind in ("inv1x1", "inv1x1_lu"):
        w = P[L["p"]["weight"]] if kind == "inv1x1" else lu_weight(P, L)
        return apply_matrix(torch.linalg.inv(w), y)
    if kind == "permute":
        perm = P[L["p"]["perm"]].long()
        return y[:, torch.argsort(perm)]
    if kind == "batchnorm":
        lg, beta = P[L["p"]["log_gamma"]], P[L["p"]["beta"]]
        rm, rv = P[L["p"]["running_mean"]], P[L["p"]["running_var"]]
        return (y - beta) * torch.exp(-lg) * torch.sqrt(rv + BN_EPS) + rm
    if kind == "squeeze":
        b_, c, h, w = y.shape
        return y.reshape(b_, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b_, c // 4, 2 * h, 2 * w)
    raise ValueError(kind)


def flow_forward(flow, P, x):
    """z (B, D), log|det| (B)."""
    Bn = x.shape[0]
    h = x.reshape(Bn, flow.c0, flow.h0, flow.w0) if flow.image else x
    ld = torch.zeros(Bn, dtype=x.dtype)
    parts = []
    for L in flow.layers:
        if L["kind"] == "split":
            c2 = L["c"] // 2
            parts.append(h[:, :c2].reshape(Bn, -1))
            h = h[:, c2:]
            continue
        h, l = layer_fwd(P, L, h)
        ld = ld + l
    parts.append(h.reshape(Bn, -1))
    return torch.cat(parts, 1), ld


def flow_inverse(flow, P, z):
    Bn = z.shape[0]
    h = z[:, flow.z_used:]
    if flow.image:
        h = h.reshape(Bn, flow.c, flow.h, flow.w)
    for L in reversed(flow.layers):
        if L["kind"] == "split":
            part = z[:, L["z_off"]:L["z_off"] + L["z_len"]].reshape(Bn, L["c"] // 2, L["h"], L["w"])
            h = torch.cat([part, h], 1)
            continue
        h = layer_inv(P, L, h)
    return h.reshape(Bn, -1)


# ---------------------------------------------------------------- model: preprocessing, prior, log p

def preprocess(x, alpha):
    if alpha <= 0:
        return x, torch.zeros(x.shape[0], dtype=x.dtype)
    s = alpha + (1 - 2 * alpha) * x
    y = torch.log(s) - torch.log1p(-s)
    ld = (math.log1p(-2 * alpha) - torch.log(s) - torch.log1p(-s)).sum(1)
    return y, ld


def postprocess(y, alpha):
    if alpha <= 0:
        return y
    return (torch.sigmoid(y) - alpha) / (1 - 2 * alpha)


def prior_logp(z, prior):
    if prior == "gaussian":
        return (-0.5 * z * z - 0.5 * LN_2PI).sum(1)
    return -(F.softplus(z) + F.softplus(-z)).sum(1)


def log_prob(case, P, x):
    y, ld_pre = preprocess(x, case["alpha"])
    z, ld = flow_forward(case["flow"], P, y)
    return prior_logp(z, case["prior"]) + ld + ld_pre, z


# ---------------------------------------------------------------- cases

def make_cases():
    return [
        dict(name="flow2d_d2", prior="gaussian", alpha=0.0, grad=True, seed=201, data="normal",
             flow=build_flow2d(2, 3, 8, 2, "affine", 1, "lu", 1)),
        dict(name="flow2d_d5", prior="logistic", alpha=0.0, grad=False, seed=202, data="normal",
             flow=build_flow2d(5, 4, 6, 1, "additive", 0, "random", 0)),
        dict(name="flow2d_d3", prior="gaussian", alpha=0.0, grad=False, seed=203, data="normal",
             flow=build_flow2d(3, 2, 5, 2, "affine", 0, "inv1x1", 0)),
        dict(name="nice_d16", prior="logistic", alpha=0.0, grad=True, seed=204, data="normal",
             flow=build_nice(16, 4, 12, 2)),
        dict(name="realnvp_1x8x8", prior="gaussian", alpha=ALPHA, grad=True, seed=205, data="unit",
             flow=build_realnvp(1, 8, 8, 2, 4, 1, 1, "plain", 1)),
        dict(name="realnvp_2x4x4", prior="gaussian", alpha=ALPHA, grad=False, seed=206, data="unit",
             flow=build_realnvp(2, 4, 4, 2, 3, 0, 0, "lu", 0)),
    ]


def draw_x(case):
    g = torch.Generator().manual_seed(case["seed"] + 1000)
    D = case["flow"].dim
    if case["data"] == "unit":
        x = 0.05 + 0.9 * torch.rand(B, D, generator=g)
    else:
        x = torch.randn(B, D, generator=g)
    return x.float().to(F64)


def jacobian_logp(case, P, x):
    """log p through log|det| of the autograd Jacobian of the whole map x -> z (per row)."""
    out = []
    for r in range(x.shape[0]):
        def zmap(v):
            y, _ = preprocess(v[None], case["alpha"])
            return flow_forward(case["flow"], P, y)[0][0]
        J = torch.autograd.functional.jacobian(zmap, x[r].clone())
        z = zmap(x[r])
        out.append(prior_logp(z[None], case["prior"])[0] + torch.linalg.slogdet(J).logabsdet)
    return torch.stack(out)


def run_case(case, out, summary):
    flow, name = case["flow"], case["name"]
    P = draw_params(flow, case["seed"])
    x = draw_x(case)
    with torch.no_grad():
        lp, z = log_prob(case, P, x)
        # round trip
        y, _ = preprocess(x, case["alpha"])
        xr = postprocess(flow_inverse(flow, P, z), case["alpha"])
        rt = (xr - x).abs().max().item()
        check(rt < 1e-10, f"{name}: inverse(forward(x)) differs from x by {rt}")
    jl = jacobian_logp(case, P, x)
    jerr = (jl - lp).abs().max().item()
    check(jerr < 1e-9, f"{name}: log p differs from the Jacobian evaluation by {jerr}")
    check(torch.isfinite(lp).all() and torch.isfinite(z).all(), f"{name}: non-finite log p or z")
    for n, v in P.items():
        out[f"{name}/{n}"] = v
    out[f"{name}/x"] = x
    out[f"{name}/logp"] = lp
    out[f"{name}/z"] = z
    ngrad = 0
    if case["grad"]:
        names = [n for n, (_, tr, _) in flow.decl.items() if tr]
        leaves = {n: P[n].clone().requires_grad_(True) for n in names}
        PP = dict(P)
        PP.update(leaves)
        lpg, _ = log_prob(case, PP, x)
        gs = torch.autograd.grad(lpg.mean(), [leaves[n] for n in names], allow_unused=True)
        for n, gv in zip(names, gs):
            out[f"{name}/grad/{n}"] = gv if gv is not None else torch.zeros_like(P[n])
            ngrad += 1
    summary.append((name, len(P), lp, z, rt, jerr, ngrad))


# ---------------------------------------------------------------- anchors: normflows / nflows on the same weights

def maxdiff(a, b):
    return (a - b).abs().max().item()


class Anchors:
    def __init__(self):
        self.rows = []

    def add(self, lib, what, diffs):
        d = max(diffs)
        check(d < 1e-10, f"anchor {lib} {what}: max abs diff {d:.3g} >= 1e-10")
        self.rows.append((lib, what, d))

    def compare(self, lib, what, ours_fwd, ours_inv, theirs_fwd, theirs_inv, x, y_in):
        """ours_fwd(x) -> (y, ld), ours_inv(y) -> x; theirs likewise (already in our direction)."""
        with torch.no_grad():
            y1, l1 = ours_fwd(x)
            y2, l2 = theirs_fwd(x)
            x1 = ours_inv(y_in)
            x2, li2 = theirs_inv(y_in)
            l2 = torch.as_tensor(l2, dtype=F64).expand(x.shape[0])
            li2 = torch.as_tensor(li2, dtype=F64).expand(x.shape[0])
            # the inverse's log-det is minus the forward's at the pre-image
            _, l1_at = ours_fwd(x1)
            self.add(lib, what, [maxdiff(y1, y2), maxdiff(l1.expand(x.shape[0]), l2), maxdiff(x1, x2),
                                 maxdiff(-l1_at.expand(x.shape[0]), li2)])


def layer_of(flow, kind, **match):
    for L in flow.layers:
        if L["kind"] == kind and all(L.get(k) == v for k, v in match.items()):
            return L
    raise KeyError((kind, match))


class Fn(torch.nn.Module):
    """A callable as a module (normflows / nflows want nn.Module sub-nets)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *a):
        return self.fn(a[0])


def run_anchors(cases):
    try:
        import nflows.transforms as nt
        import normflows as nf
    except ImportError as e:  # the golden values do not need them
        print(f"  anchors skipped: {e} (pip install normflows nflows)")
        return None
    import warnings
    warnings.filterwarnings("ignore")
    A = Anchors()
    g = torch.Generator().manual_seed(77)
    by = {c["name"]: c for c in cases}
    Pof = {c["name"]: draw_params(c["flow"], c["seed"]) for c in cases}

    def fwd(P, L):
        return lambda v: layer_fwd(P, L, v)

    def inv(P, L):
        return lambda v: layer_inv(P, L, v)

    def img(c, h, w):
        return torch.randn(5, c, h, w, generator=g, dtype=F64)

    def vec(d):
        return torch.randn(5, d, generator=g, dtype=F64)

    def setp(mod, name, v):
        with torch.no_grad():
            getattr(mod, name).data = v.clone().reshape(getattr(mod, name).shape).to(F64)

    # ---- normflows Invertible1x1Conv, LU (realnvp_2x4x4: 8 channels at 2x2, random signs and perm)
    P, fl = Pof["realnvp_2x4x4"], by["realnvp_2x4x4"]["flow"]
    for c in (2, 8, 4):
        L = layer_of(fl, "inv1x1_lu", c=c)
        m = nf.flows.Invertible1x1Conv(c, use_lu=True).double()
        m.P = P[L["p"]["perm"]].clone()
        m.sign_S = P[L["p"]["sign_s"]].clone()
        setp(m, "L", P[L["p"]["lower"]])
        setp(m, "U", P[L["p"]["upper"]])
        setp(m, "log_S", P[L["p"]["log_s"]])
        x = img(c, L["h"], L["w"])
        A.compare("normflows", f"Invertible1x1Conv(use_lu=True) C={c}", fwd(P, L), inv(P, L), m.inverse, m.forward,
                  x, img(c, L["h"], L["w"]))
    # ---- normflows Invertible1x1Conv, plain (realnvp_1x8x8)
    P, fl = Pof["realnvp_1x8x8"], by["realnvp_1x8x8"]["flow"]
    for c in (4, 2):
        L = layer_of(fl, "inv1x1", c=c)
        m = nf.flows.Invertible1x1Conv(c, use_lu=False).double()
        setp(m, "W", P[L["p"]["weight"]])
        A.compare("normflows", f"Invertible1x1Conv(use_lu=False) C={c}", fwd(P, L), inv(P, L), m.inverse, m.forward,
                  img(c, L["h"], L["w"]), img(c, L["h"], L["w"]))
    # ---- normflows ActNorm (image: realnvp_1x8x8 C=4 at 4x4; vector: flow2d_d2)
    for cname, kw in (("realnvp_1x8x8", dict(c=4)), ("flow2d_d2", {})):
        P, fl = Pof[cname], by[cname]["flow"]
        L = layer_of(fl, "actnorm", **kw)
        shape = (L["c"], 1, 1) if fl.image else (L["c"],)
        m = nf.flows.ActNorm(shape).double()
        s, b = P[L["p"]["log_scale"]], P[L["p"]["bias"]]
        setp(m, "s", s)
        setp(m, "t", b * torch.exp(s))
        m.data_dep_init_done = torch.tensor(1.0)
        x = img(L["c"], L["h"], L["w"]) if fl.image else vec(L["c"])
        y = img(L["c"], L["h"], L["w"]) if fl.image else vec(L["c"])
        A.compare("normflows", f"ActNorm {'image' if fl.image else 'vector'} C={L['c']}", fwd(P, L), inv(P, L),
                  m.forward, m.inverse, x, y)
    # ---- normflows AffineConstFlow(shift=False) = NICE's scaling layer
    P, fl = Pof["nice_d16"], by["nice_d16"]["flow"]
    L = layer_of(fl, "scale")
    m = nf.flows.AffineConstFlow((16,), shift=False).double()
    setp(m, "s", P[L["p"]["log_scale"]])
    A.compare("normflows", "AffineConstFlow(shift=False) as NICE scaling", fwd(P, L), inv(P, L), m.forward, m.inverse,
              vec(16), vec(16))
    # ---- normflows MaskedAffineFlow: checkerboard couplings on images (affine)
    P, fl = Pof["realnvp_1x8x8"], by["realnvp_1x8x8"]["flow"]
    for par in (0, 1):
        for c in (1, 2):
            L = layer_of(fl, "coupling", mask="checker", parity=par, c=c)
            b = checker_mask(L).expand(L["c"], L["h"], L["w"]).clone()
            m = nf.flows.MaskedAffineFlow(b, t=Fn(lambda v, L=L: net_st(P, L, v)[1]),
                                          s=Fn(lambda v, L=L: net_st(P, L, v)[0])).double()
            A.compare("normflows", f"MaskedAffineFlow checkerboard affine C={c} parity {par} (layer{L['k']})", fwd(P, L), inv(P, L),
                      m.forward, m.inverse, img(L["c"], L["h"], L["w"]), img(L["c"], L["h"], L["w"]))
    # ---- normflows AffineCouplingBlock: channel-mask couplings (parity 0: channel, 1: channel_inv)
    for cname in ("realnvp_1x8x8", "realnvp_2x4x4"):
        P, fl = Pof[cname], by[cname]["flow"]
        for par in (0, 1):
            L = layer_of(fl, "coupling", mask="channel", parity=par)

            def pmap(v, L=L):
                s, t = net_st(P, L, v)
                return torch.stack([t, s], 2).reshape(v.shape[0], 2 * s.shape[1], v.shape[2], v.shape[3])
            m = nf.flows.AffineCouplingBlock(Fn(pmap), scale=True, scale_map="exp",
                                             split_mode="channel_inv" if par else "channel").double()
            A.compare("normflows", f"AffineCouplingBlock split {'channel_inv' if par else 'channel'} ({cname} layer{L['k']})",
                      fwd(P, L), inv(P, L), m.forward, m.inverse, img(L["c"], L["h"], L["w"]),
                      img(L["c"], L["h"], L["w"]))
    # ---- normflows MaskedAffineFlow on vectors: alternating affine (flow2d_d3) and additive (flow2d_d5)
    for cname in ("flow2d_d3", "flow2d_d5", "nice_d16"):
        P, fl = Pof[cname], by[cname]["flow"]
        for L in [l for l in fl.layers if l["kind"] == "coupling"][:2]:
            D = L["c"]
            bmask = torch.zeros(D, dtype=F64)
            bmask[L["idx_a"]] = 1.0
            ib = torch.tensor(L["idx_b"])

            def full(v, which, L=L, ib=ib):
                s, t = net_st(P, L, v[:, torch.tensor(L["idx_a"])])
                part = s if which == 0 else t
                o = torch.zeros_like(v)
                o[:, ib] = part
                return o
            m = nf.flows.MaskedAffineFlow(bmask, t=Fn(lambda v, full=full: full(v, 1)),
                                          s=Fn(lambda v, full=full: full(v, 0)) if L["affine"] else None).double()
            A.compare("normflows", f"MaskedAffineFlow vector {'affine' if L['affine'] else 'additive'} D={D} parity "
                      f"{L['parity']} ({cname} layer{L['k']})", fwd(P, L), inv(P, L), m.forward, m.inverse, vec(D), vec(D))
    # ---- normflows Permute(shuffle) and nflows Permutation (flow2d_d5's random permutations)
    P, fl = Pof["flow2d_d5"], by["flow2d_d5"]["flow"]
    for L in [l for l in fl.layers if l["kind"] == "permute"][:2]:
        perm = P[L["p"]["perm"]].long()
        m = nf.flows.Permute(5, mode="shuffle")
        m.perm = perm.clone()
        m.inv_perm = torch.argsort(perm)
        A.compare("normflows", f"Permute(shuffle) {perm.tolist()}", fwd(P, L), inv(P, L), m.forward, m.inverse,
                  vec(5), vec(5))
        t = nt.Permutation(perm.clone())
        A.compare("nflows", f"Permutation {perm.tolist()}", fwd(P, L), inv(P, L), t.forward, t.inverse, vec(5), vec(5))
    # ---- squeeze: normflows Squeeze (inverse() squeezes) and nflows SqueezeTransform
    fl = by["realnvp_1x8x8"]["flow"]
    L = layer_of(fl, "squeeze")
    m = nf.flows.Squeeze()
    A.compare("normflows", "Squeeze (inverse = our squeeze) 3x8x6", fwd({}, L), inv({}, L), m.inverse, m.forward,
              img(3, 8, 6), img(12, 4, 3))
    t = nt.SqueezeTransform(2)
    A.compare("nflows", "SqueezeTransform 3x8x6", fwd({}, L), inv({}, L), t.forward, t.inverse, img(3, 8, 6),
              img(12, 4, 3))
    # ---- nflows AdditiveCouplingTransform with the same MLP (nice_d16 parity 0 and 1, flow2d_d5)
    for cname in ("nice_d16", "flow2d_d5"):
        P, fl = Pof[cname], by[cname]["flow"]
        for L in [l for l in fl.layers if l["kind"] == "coupling"][:2]:
            D = L["c"]
            mask = torch.zeros(D)
            mask[L["idx_b"]] = 1  # > 0: transformed

            class Net(torch.nn.Module):
                def __init__(self, L):
                    super().__init__()
                    self.L = L

                def forward(self, v, context=None):
                    return net_st(P, self.L, v)[1]
            t = nt.AdditiveCouplingTransform(mask, lambda i, o, L=L: Net(L))
            A.compare("nflows", f"AdditiveCouplingTransform D={D} parity {L['parity']} ({cname} layer{L['k']})", fwd(P, L),
                      inv(P, L), t.forward, t.inverse, vec(D), vec(D))
    # ---- nflows ActNorm (image and vector)
    for cname, kw in (("realnvp_1x8x8", dict(c=4)), ("flow2d_d2", {})):
        P, fl = Pof[cname], by[cname]["flow"]
        L = layer_of(fl, "actnorm", **kw)
        t = nt.ActNorm(L["c"]).double()
        s, b = P[L["p"]["log_scale"]].reshape(-1), P[L["p"]["bias"]].reshape(-1)
        setp(t, "log_scale", s)
        setp(t, "shift", b * torch.exp(s))
        t.initialized.data = torch.tensor(True)
        t.eval()
        x = img(L["c"], L["h"], L["w"]) if fl.image else vec(L["c"])
        y = img(L["c"], L["h"], L["w"]) if fl.image else vec(L["c"])
        A.compare("nflows", f"ActNorm {'image' if fl.image else 'vector'} C={L['c']}", fwd(P, L), inv(P, L),
                  t.forward, t.inverse, x, y)
    # ---- nflows BatchNorm in eval mode (flow2d_d2, vector)
    P, fl = Pof["flow2d_d2"], by["flow2d_d2"]["flow"]
    for L in [l for l in fl.layers if l["kind"] == "batchnorm"]:
        D = L["c"]
        t = nt.BatchNorm(D, eps=BN_EPS).double()
        lg = P[L["p"]["log_gamma"]]
        setp(t, "unconstrained_weight", torch.log(torch.expm1(torch.exp(lg) - BN_EPS)))
        setp(t, "bias", P[L["p"]["beta"]])
        t.running_mean = P[L["p"]["running_mean"]].clone()
        t.running_var = P[L["p"]["running_var"]].clone()
        t.eval()
        A.compare("nflows", f"BatchNorm (eval) D={D} {L['p']['log_gamma'].split('.')[0]}", fwd(P, L), inv(P, L),
                  t.forward, t.inverse, vec(D), vec(D))
    # ---- nflows LULinear + Permutation = our LU 1x1 on vectors (flow2d_d2's LU layers with sign_s = +1)
    P, fl = Pof["flow2d_d2"], by["flow2d_d2"]["flow"]
    gl = torch.Generator().manual_seed(78)
    for D in (2, 5):
        Fd = Flow(D)
        Fd.inv1x1(True)
        L = Fd.layers[0]
        PL = draw_params(Fd, 300 + D)
        PL[L["p"]["sign_s"]] = torch.ones(D, dtype=F64)
        perm = torch.randperm(D, generator=gl)
        PL[L["p"]["perm"]] = torch.eye(D, dtype=F64)[perm]
        lu = nt.LULinear(D, identity_init=True).double()
        li, ui = torch.tril_indices(D, D, -1), torch.triu_indices(D, D, 1)
        setp(lu, "lower_entries", PL[L["p"]["lower"]][li[0], li[1]])
        setp(lu, "upper_entries", PL[L["p"]["upper"]][ui[0], ui[1]])
        setp(lu, "unconstrained_upper_diag", torch.log(torch.expm1(torch.exp(PL[L["p"]["log_s"]]) - lu.eps)))
        # y = P (L U x): LU first, then y_i = v[pi(i)] with P[i, pi(i)] = 1
        t = nt.CompositeTransform([lu, nt.Permutation(PL[L["p"]["perm"]].argmax(1))])
        A.compare("nflows", f"LULinear + Permutation D={D} (sign_s = +1)", fwd(PL, L), inv(PL, L), t.forward,
                  t.inverse, vec(D), vec(D))
    return A.rows


def main():
    torch.set_num_threads(1)  # fixed reduction order: byte-identical output
    cases = make_cases()
    out, summary = {}, []
    for case in cases:
        run_case(case, out, summary)
    for n, v in out.items():
        check(torch.isfinite(v).all(), f"{n} not finite")
        if not (n.endswith("/logp") or n.endswith("/z") or "/grad/" in n):
            check(torch.equal(v.float().double(), v), f"{n} is not exactly float32")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flows.safetensors")
    write_safetensors(path, out, {"generator": "tests/golden/gen_flows.py", "torch": torch.__version__})
    for name, npar, lp, z, rt, jerr, ngrad in summary:
        print(f"  {name:14s} {npar:3d} tensors, log p in [{lp.min().item():9.3f}, {lp.max().item():9.3f}], "
              f"|z| <= {z.abs().max().item():7.3f}, round trip {rt:.1e}, vs Jacobian {jerr:.1e}, {ngrad} grads")
    rows = run_anchors(cases)
    if rows is not None:
        print(f"  anchors ({len(rows)} layer comparisons, forward / inverse / log-det, float64):")
        for lib, what, d in rows:
            print(f"    {lib:9s} {what:70s} max |diff| {d:.1e}")
    print(f"wrote {path}: {len(out)} tensors, all self-checks passed")


if __name__ == "__main__":
    main()
