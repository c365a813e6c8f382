#!/usr/bin/env python3
"""verify_mob_checkpoint.py CKPT TEST_AMAT[.gz] — recomputes a genmod `mob`
checkpoint's test NLL independently in PyTorch (float64), reading the
safetensors file by hand (8-byte header length, JSON header, raw data) and the
Larochelle .amat test file. Not used by the tests; a cross-check for
docs/RESULTS.md. Needs numpy and torch."""
import gzip, json, struct, sys
import numpy as np
import torch

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        assert h["dtype"] == "F32", name
        a, b = h["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(h["shape"])
    return out, meta

def main():
    ckpt, amat = sys.argv[1], sys.argv[2]
    t, meta = read_safetensors(ckpt)
    assert meta.get("model_type") == "mob", meta.get("model_type")
    L = torch.tensor(t["logits"], dtype=torch.float64)          # (K, D)
    mix = torch.tensor(t["mix_logits"], dtype=torch.float64)    # (K)
    opener = gzip.open if amat.endswith(".gz") else open
    with opener(amat, "rt") as f:
        X = torch.tensor(np.loadtxt(f), dtype=torch.float64)    # (N, D)
    lp = X @ L.T - torch.nn.functional.softplus(L).sum(1) + torch.log_softmax(mix, 0)
    ll = torch.logsumexp(lp, 1)                                 # (N)
    print(f"{ckpt}: K={L.shape[0]} D={L.shape[1]} N={X.shape[0]} "
          f"test NLL {-ll.mean().item():.4f} ± {ll.std().item() / X.shape[0] ** 0.5:.4f} nats (torch float64)")

if __name__ == "__main__":
    main()
