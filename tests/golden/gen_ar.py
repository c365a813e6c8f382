"""gen_ar.py — PyTorch golden values for the autoregressive models FVSBN, NADE and MADE.

Writes tests/golden/ar_models.safetensors (run: cd tests/golden && python3 gen_ar.py). Every tensor is
float32 (opgen.write_safetensors); parameters and data are drawn in float32 and all outputs are computed
by PyTorch in float64 from those float32 values. Orderings and degrees are stored as floats holding
integers. The parameter names are exactly the C models' parameter names.

Common: B = 5 rows, D = 7 binary dimensions, x ~ Bernoulli(0.5); parameters (biases too) ~ N(0, 0.5^2).
order[k] = the dimension at position k of the ordering, pos(d) = its inverse (pos(order[k]) = k).
log p(x) = sum_i x_i * logit_i - softplus(logit_i); loss L = -mean_b log p(x_b).

  fvsbn.x (B,D), fvsbn.order (D), fvsbn.weight (D,D), fvsbn.bias (D), fvsbn.logp (B),
  fvsbn.grad.weight, fvsbn.grad.bias
      logit_i = bias_i + sum_j weight[i,j] * [pos(j) < pos(i)] * x_j
  nade.x, nade.order, nade.W (D,H), nade.c (H), nade.V (D,H), nade.b (D), nade.logp, nade.grad.<W|c|V|b>
      H = 4; per row: a = c; for k = 0..D-1: d = order[k]; h = sigmoid(a); logit_d = b_d + V_d . h;
      a += W_d * x_d
  made1.* : one hidden layer of 6 units, K = 1 mask set, direct input->output connection
  made2.* : hidden layers of 6 and 5 units, K = 3 mask sets, no direct connection
      <p>x, <p>layers.0.weight (H1,D), <p>layers.0.bias (H1), [made2: <p>layers.1.weight (H2,H1),
      <p>layers.1.bias (H2)], <p>out.weight (D,H_L), <p>out.bias (D), [made1: <p>direct.weight (D,D)],
      <p>degrees.in (K,D): degrees.in[k][d] = pos_k(d), the position of d in mask set k's ordering,
      <p>degrees.0 (K,H1), [made2: <p>degrees.1 (K,H2)]: hidden degrees, integers uniform in
      [min of the previous layer's degrees of that mask set, D-2],
      <p>logp (B), made2 also <p>logp_k (K,B); <p>grad.<param> for every parameter.
      Mask set k: hidden layer l: M[u,v] = deg_l[u] >= deg_{l-1}[v]; output: M[d,u] = deg_in[d] > deg_L[u];
      direct: M[d,j] = deg_in[d] > deg_in[j]. h_l = relu((W_l * M_l) h_{l-1} + b_l);
      logits = (W_out * M_out) h_L + out.bias [+ (W_direct * M_direct) x].
      made1: logp = logp of its one mask set, gradients of L. made2: logp = logsumexp_k(logp_k) - log K
      (the ensemble), gradients of the loss of mask set k = 1 only: L = -mean_b logp_k[1].

Self-checks (fail loudly): exact normalisation (sum over all 2^D binary x of exp(log p) = 1 within 1e-10)
for every model, every mask set and the made2 ensemble; the autoregressive property (d logit_i / d x_j = 0
exactly for pos(j) >= pos(i), at the binary data and at real-valued x; for MADE also the mask connectivity
itself); log p against an independent per-position (chain rule) evaluation for FVSBN and NADE and against
-BCE-with-logits; float64 gradcheck of every model's log p w.r.t. its parameters.

Dev-time only: needs torch; the C tests never run Python. Output is byte-identical when re-run.
"""
import itertools
import math
import os

import torch
import torch.nn.functional as F

from opgen import write_safetensors  # the one hand-written safetensors writer of the generators

B, D = 5, 7
NADE_H = 4
SEED_X, SEED_ORDER, SEED_FVSBN, SEED_NADE, SEED_MADE1, SEED_MADE2 = 100, 101, 102, 103, 104, 105
PARAM_STD = 0.5
F64 = torch.float64


class CheckError(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise CheckError("gen_ar.py self-check FAILED: " + msg)


def normal32(g, *shape):
    """N(0, 0.5^2) drawn in float32 (what is stored), returned as float64 holding float32 values."""
    return (PARAM_STD * torch.randn(*shape, generator=g, dtype=torch.float32)).to(F64)


def inverse_perm(order):
    pos = torch.empty_like(order)
    pos[order] = torch.arange(order.numel())
    return pos


def bern_logp(x, logits):
    """sum_i x_i l_i - softplus(l_i), stable in float64 (softplus(l) = max(l,0) + log1p(exp(-|l|)))."""
    sp = logits.clamp(min=0) + torch.log1p(torch.exp(-logits.abs()))
    return (x * logits - sp).sum(-1)


def all_binary(d):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=d)), dtype=F64)


# ---------------------------------------------------------------- models (logits of x, float64)

def fvsbn_logits(p, pos, x):
    mask = (pos[None, :] < pos[:, None]).to(F64)  # mask[i, j] = pos(j) < pos(i)
    return p["bias"] + x @ (p["weight"] * mask).T


def nade_logits(p, order, x):
    a = p["c"].expand(x.shape[0], -1)
    logits = [None] * D
    for k in range(D):
        d = int(order[k])
        h = torch.sigmoid(a)
        logits[d] = p["b"][d] + h @ p["V"][d]
        a = a + x[:, d:d + 1] * p["W"][d][None, :]
    return torch.stack(logits, dim=1)


def made_masks(deg_in, deg_hidden):
    """Masks of one mask set: hidden layers (out_units, in_units), output (D, H_L), direct (D, D)."""
    hidden = []
    prev = deg_in
    for dl in deg_hidden:
        hidden.append((dl[:, None] >= prev[None, :]).to(F64))
        prev = dl
    out = (deg_in[:, None] > prev[None, :]).to(F64)
    direct = (deg_in[:, None] > deg_in[None, :]).to(F64)
    return hidden, out, direct


def made_logits(p, nlayers, direct, deg_in, deg_hidden, x):
    mh, mo, md = made_masks(deg_in, deg_hidden)
    h = x
    for l in range(nlayers):
        h = torch.relu(F.linear(h, p[f"layers.{l}.weight"] * mh[l], p[f"layers.{l}.bias"]))
    out = F.linear(h, p["out.weight"] * mo, p["out.bias"])
    if direct:
        out = out + F.linear(x, p["direct.weight"] * md)
    return out


# ---------------------------------------------------------------- checks

def check_normalised(name, logp_fn):
    xs = all_binary(D)
    with torch.no_grad():
        total = torch.exp(logp_fn(xs)).sum().item()
    check(abs(total - 1.0) <= 1e-10, f"{name}: sum over 2^{D} binary x of p(x) = {total!r}, not 1")
    return total


def check_autoregressive(name, logits_fn, pos, x_bin, g):
    """d logit_i / d x_j must be exactly 0 for pos(j) >= pos(i), at each row of x_bin and at real x."""
    forbidden = pos[None, :] >= pos[:, None]  # [i, j]
    rows = list(x_bin) + list(torch.randn(3, D, generator=g, dtype=F64))
    n_allowed_nonzero = 0
    for xr in rows:
        J = torch.autograd.functional.jacobian(lambda v: logits_fn(v[None, :])[0], xr.clone())
        bad = (J != 0) & forbidden
        check(not bad.any(), f"{name}: d logit_i/d x_j != 0 for pos(j) >= pos(i) at {bad.nonzero().tolist()}")
        n_allowed_nonzero += int(((J != 0) & ~forbidden).sum())
    check(n_allowed_nonzero > 0, f"{name}: logits do not depend on x at all (degenerate check)")


def check_made_connectivity(name, deg_in, deg_hidden, direct):
    """Path counts through the masks: nonzero only where deg_in[j] < deg_in[i]."""
    mh, mo, md = made_masks(deg_in, deg_hidden)
    conn = torch.eye(D, dtype=F64)
    for m in mh:
        conn = m @ conn
    conn = mo @ conn
    if direct:
        conn = conn + md
    forbidden = deg_in[None, :] >= deg_in[:, None]
    check(not ((conn != 0) & forbidden).any(), f"{name}: a mask path connects x_j to logit_i with pos(j) >= pos(i)")


def check_chain_rule(name, logits_fn, order, x):
    """log p by the chain rule, one position at a time, each conditional seeing only the earlier dims."""
    lp = torch.zeros(x.shape[0], dtype=F64)
    for k in range(D):
        d = int(order[k])
        seen = torch.zeros_like(x)
        seen[:, order[:k]] = x[:, order[:k]]
        # later dims replaced by garbage: must not matter
        seen[:, order[k:]] = 7.0 * torch.arange(1, D - k + 1, dtype=F64)
        l = logits_fn(seen)[:, d]
        lp = lp + x[:, d] * l - F.softplus(l, threshold=1000.0)
    with torch.no_grad():
        ref = bern_logp(x, logits_fn(x))
    err = (lp.detach() - ref).abs().max().item()
    check(err < 1e-12, f"{name}: chain-rule log p differs from the model's by {err}")


def check_bce(name, logits, x, logp):
    ref = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    err = (ref - logp).abs().max().item()
    check(err < 1e-12, f"{name}: log p differs from -BCE-with-logits by {err}")


def check_gradcheck(name, params, logp_of):
    names = list(params)
    leaves = [params[n].detach().clone().requires_grad_(True) for n in names]

    def f(*vals):
        return logp_of(dict(zip(names, vals)))

    ok = torch.autograd.gradcheck(f, leaves, eps=1e-6, atol=1e-7, rtol=1e-6, raise_exception=False)
    check(ok, f"{name}: gradcheck of log p w.r.t. the parameters failed")


def grads(loss_fn, params):
    leaves = {n: v.detach().clone().requires_grad_(True) for n, v in params.items()}
    loss = loss_fn(leaves)
    gs = torch.autograd.grad(loss, list(leaves.values()))
    return dict(zip(leaves, gs))


# ---------------------------------------------------------------- generation

def main():
    torch.set_num_threads(1)  # fixed reduction order: byte-identical output
    gx = torch.Generator().manual_seed(SEED_X)
    x = (torch.rand(B, D, generator=gx) < 0.5).to(F64)
    order = torch.randperm(D, generator=torch.Generator().manual_seed(SEED_ORDER))
    pos = inverse_perm(order)
    check(sorted(order.tolist()) == list(range(D)), "order is not a permutation")
    gchk = torch.Generator().manual_seed(999)  # real-valued x for the autoregressive checks only
    out = {}
    summary = []

    # ---- FVSBN
    g = torch.Generator().manual_seed(SEED_FVSBN)
    pf = {"weight": normal32(g, D, D), "bias": normal32(g, D)}

    def fvsbn_lp(p, xx):
        return bern_logp(xx, fvsbn_logits(p, pos, xx))

    lp = fvsbn_lp(pf, x)
    check_bce("fvsbn", fvsbn_logits(pf, pos, x), x, lp)
    tot = check_normalised("fvsbn", lambda xx: fvsbn_lp(pf, xx))
    check_autoregressive("fvsbn", lambda xx: fvsbn_logits(pf, pos, xx), pos, x, gchk)
    check_chain_rule("fvsbn", lambda xx: fvsbn_logits(pf, pos, xx), order, x)
    check_gradcheck("fvsbn", pf, lambda p: fvsbn_lp(p, x))
    gr = grads(lambda p: -fvsbn_lp(p, x).mean(), pf)
    out.update({"fvsbn.x": x, "fvsbn.order": order.to(F64), "fvsbn.logp": lp})
    out.update({f"fvsbn.{n}": v for n, v in pf.items()})
    out.update({f"fvsbn.grad.{n}": v for n, v in gr.items()})
    summary.append(("fvsbn", tot))

    # ---- NADE
    g = torch.Generator().manual_seed(SEED_NADE)
    pn = {"W": normal32(g, D, NADE_H), "c": normal32(g, NADE_H), "V": normal32(g, D, NADE_H),
          "b": normal32(g, D)}

    def nade_lp(p, xx):
        return bern_logp(xx, nade_logits(p, order, xx))

    lp = nade_lp(pn, x)
    check_bce("nade", nade_logits(pn, order, x), x, lp)
    tot = check_normalised("nade", lambda xx: nade_lp(pn, xx))
    check_autoregressive("nade", lambda xx: nade_logits(pn, order, xx), pos, x, gchk)
    check_chain_rule("nade", lambda xx: nade_logits(pn, order, xx), order, x)
    # the vectorised form (exclusive cumulative sum in the ordering) must agree with the loop
    xo = x[:, order]
    A = pn["c"] + torch.cumsum(xo[:, :, None] * pn["W"][order][None], dim=1) - xo[:, :, None] * pn["W"][order][None]
    lv = pn["b"][order] + (torch.sigmoid(A) * pn["V"][order][None]).sum(-1)
    err = (lv - nade_logits(pn, order, x)[:, order]).abs().max().item()
    check(err < 1e-12, f"nade: vectorised logits differ from the loop by {err}")
    check_gradcheck("nade", pn, lambda p: nade_lp(p, x))
    gr = grads(lambda p: -nade_lp(p, x).mean(), pn)
    out.update({"nade.x": x, "nade.order": order.to(F64), "nade.logp": lp})
    out.update({f"nade.{n}": v for n, v in pn.items()})
    out.update({f"nade.grad.{n}": v for n, v in gr.items()})
    summary.append(("nade", tot))

    # ---- MADE
    for prefix, seed, hidden, K, direct, grad_k in (("made1", SEED_MADE1, (6,), 1, True, 0),
                                                     ("made2", SEED_MADE2, (6, 5), 3, False, 1)):
        g = torch.Generator().manual_seed(seed)
        sizes = (D,) + hidden
        pm = {}
        for l in range(len(hidden)):
            pm[f"layers.{l}.weight"] = normal32(g, sizes[l + 1], sizes[l])
            pm[f"layers.{l}.bias"] = normal32(g, sizes[l + 1])
        pm["out.weight"] = normal32(g, D, hidden[-1])
        pm["out.bias"] = normal32(g, D)
        if direct:
            pm["direct.weight"] = normal32(g, D, D)
        deg_in, deg_h = [], [[] for _ in hidden]
        for k in range(K):
            ordk = torch.randperm(D, generator=g)
            dk = inverse_perm(ordk).to(F64)
            deg_in.append(dk)
            prev = dk
            for l, H in enumerate(hidden):
                lo = int(prev.min())
                dl = torch.randint(lo, D - 1, (H,), generator=g).to(F64)  # uniform in [lo, D-2]
                deg_h[l].append(dl)
                prev = dl
        deg_in = torch.stack(deg_in)
        deg_h = [torch.stack(d) for d in deg_h]
        nl = len(hidden)

        def made_lp(p, xx, k, deg_in=deg_in, deg_h=deg_h, nl=nl, direct=direct):
            return bern_logp(xx, made_logits(p, nl, direct, deg_in[k], [d[k] for d in deg_h], xx))

        lpk = torch.stack([made_lp(pm, x, k) for k in range(K)])
        for k in range(K):
            nm = f"{prefix}[mask set {k}]"
            dk, dhk = deg_in[k], [d[k] for d in deg_h]
            lk = lambda xx, dk=dk, dhk=dhk: made_logits(pm, nl, direct, dk, dhk, xx)
            check_bce(nm, lk(x), x, lpk[k])
            tot = check_normalised(nm, lambda xx, k=k: made_lp(pm, xx, k))
            check_made_connectivity(nm, dk, dhk, direct)
            check_autoregressive(nm, lk, dk.long(), x, gchk)
            ordk = torch.argsort(dk)
            check_chain_rule(nm, lk, ordk, x)
            summary.append((nm, tot))
        lp = torch.logsumexp(lpk, dim=0) - math.log(K)
        if K > 1:
            tot = check_normalised(f"{prefix}[ensemble]", lambda xx: torch.logsumexp(
                torch.stack([made_lp(pm, xx, k) for k in range(K)]), dim=0) - math.log(K))
            summary.append((f"{prefix}[ensemble]", tot))
            out[f"{prefix}.logp_k"] = lpk
        else:
            check((lp - lpk[0]).abs().max().item() == 0.0, f"{prefix}: K=1 ensemble differs from mask set 0")
        check_gradcheck(prefix, pm, lambda p: made_lp(p, x, grad_k))
        gr = grads(lambda p: -made_lp(p, x, grad_k).mean(), pm)
        out.update({f"{prefix}.x": x, f"{prefix}.logp": lp, f"{prefix}.degrees.in": deg_in})
        for l in range(nl):
            out[f"{prefix}.degrees.{l}"] = deg_h[l]
        out.update({f"{prefix}.{n}": v for n, v in pm.items()})
        out.update({f"{prefix}.grad.{n}": v for n, v in gr.items()})

    # stored values are float32: the parameters, data and integer-valued tensors are exactly representable
    for n, v in out.items():
        check(torch.isfinite(v).all(), f"{n} not finite")
        if not (".logp" in n or ".grad." in n):
            check(torch.equal(v.float().double(), v), f"{n} is not exactly float32")

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ar_models.safetensors")
    write_safetensors(path, out, {"generator": "tests/golden/gen_ar.py", "torch": torch.__version__})
    for nm, tot in summary:
        print(f"  normalisation {nm}: sum p = 1 {tot - 1.0:+.1e}")
    for n in sorted(out):
        print(f"  {n} {tuple(out[n].shape)}")
    print(f"wrote {path}: {len(out)} tensors, all self-checks passed")


if __name__ == "__main__":
    main()
