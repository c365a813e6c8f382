#!/usr/bin/env python3
"""verify_ar_checkpoint.py CKPT TEST_AMAT[.gz] — recomputes the test NLL of a
genmod `fvsbn`, `nade` or `made` checkpoint independently in PyTorch
(float64), from the safetensors file read by hand and the Larochelle .amat
test file, following the tensor definitions in docs/CHECKPOINTS.md (MADE masks
rebuilt from the stored degrees; K sets averaged as probabilities). Not used
by the tests; a cross-check for docs/RESULTS.md. Needs numpy and torch."""
import gzip, sys
import numpy as np
import torch
import torch.nn.functional as F
from verify_mob_checkpoint import read_safetensors

def bern_logp(x, logits):  # (N, D) -> (N)
    return (x * logits - F.softplus(logits)).sum(1)

def main():
    ckpt, amat = sys.argv[1], sys.argv[2]
    t, meta = read_safetensors(ckpt)
    kind = meta.get("model_type")
    T = {k: torch.tensor(v, dtype=torch.float64) for k, v in t.items()}
    opener = gzip.open if amat.endswith(".gz") else open
    with opener(amat, "rt") as f:
        x = torch.tensor(np.loadtxt(f), dtype=torch.float64)
    N, D = x.shape
    lp = torch.zeros(N, dtype=torch.float64)
    for s in range(0, N, 500):
        xb = x[s:s + 500]
        if kind == "fvsbn":
            order = T["order"].long(); pos = torch.empty(D, dtype=torch.long); pos[order] = torch.arange(D)
            M = (pos[None, :] < pos[:, None]).double()
            lp[s:s + 500] = bern_logp(xb, xb @ (T["weight"] * M).T + T["bias"])
        elif kind == "nade":
            order = T["order"].long()
            a = T["c"].expand(xb.shape[0], -1).clone(); logits = torch.zeros_like(xb)
            for d in order.tolist():
                logits[:, d] = T["b"][d] + torch.sigmoid(a) @ T["V"][d]
                a += xb[:, d:d + 1] * T["W"][d]
            lp[s:s + 500] = bern_logp(xb, logits)
        elif kind == "made":
            L = sum(1 for k in T if k.startswith("layers.") and k.endswith(".weight"))
            K = T["degrees.in"].shape[0]
            per = []
            for k in range(K):
                deg = [T["degrees.in"][k]] + [T[f"degrees.{l}"][k] for l in range(L)]
                h = xb
                for l in range(L):
                    M = (deg[l + 1][:, None] >= deg[l][None, :]).double()
                    h = torch.relu(h @ (T[f"layers.{l}.weight"] * M).T + T[f"layers.{l}.bias"])
                M = (deg[0][:, None] > deg[L][None, :]).double()
                logits = h @ (T["out.weight"] * M).T + T["out.bias"]
                if "direct.weight" in T:
                    logits = logits + xb @ (T["direct.weight"] * (deg[0][:, None] > deg[0][None, :]).double()).T
                per.append(bern_logp(xb, logits))
            lp[s:s + 500] = torch.logsumexp(torch.stack(per), 0) - np.log(K)
        else:
            sys.exit(f"{ckpt}: model_type {kind} is not fvsbn, nade or made")
    nll = -lp
    print(f"{kind}: test NLL {nll.mean().item():.4f} ± {nll.std().item() / np.sqrt(N):.4f} nats over {N} rows (torch float64)")

if __name__ == "__main__":
    main()
