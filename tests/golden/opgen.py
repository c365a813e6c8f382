"""opgen.py — shared machinery for the op golden generators (gen_ops_<family>.py).

Each family script lists cases: a name, input specs (shape, domain, differentiable) and a torch
function of the inputs. For every case this writes <name>.in<k> (float32 inputs), <name>.r (the
output-gradient seed), <name>.out and <name>.g<k> (input gradients of sum(r * out)), computed by
PyTorch in float64 from the float32 inputs, into tests/golden/ops_<family>.safetensors.
The C side (tests/util/opcheck.c) reads these by name. Domains match opcheck.h.

Dev-time only: needs torch; the C tests never run Python.
"""
import json
import os
import struct

import torch

ANY, POS, UNIT, AWAY0, BINARY = "any", "pos", "unit", "away0", "binary"


def inp(shape, dom=ANY, grad=True):
    return {"shape": tuple(shape), "dom": dom, "grad": grad}


def _gen(spec, g):
    shape = spec["shape"]
    dom = spec["dom"]
    if dom == ANY:
        x = torch.randn(shape, generator=g)
    elif dom == POS:
        x = 0.5 + 1.5 * torch.rand(shape, generator=g)
    elif dom == UNIT:
        x = 0.05 + 0.9 * torch.rand(shape, generator=g)
    elif dom == AWAY0:
        sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
        x = sign * (0.2 + 1.8 * torch.rand(shape, generator=g))
    elif dom == BINARY:
        x = (torch.rand(shape, generator=g) < 0.5).float()
    else:
        raise ValueError(dom)
    return x.float()


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: float32 tensor} as safetensors by hand (no safetensors package)."""
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def run_cases(family, cases, seed=0):
    """cases: list of (name, [inp...], fn). fn gets float64 tensors, returns a tensor."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, specs, fn in cases:
        xs32 = [_gen(s, g) for s in specs]
        xs = [x.double().requires_grad_(s["grad"]) for x, s in zip(xs32, specs)]
        y = fn(*xs)
        r = torch.randn(y.shape, generator=g).float()
        for k, x in enumerate(xs32):
            out[f"{name}.in{k}"] = x
        out[f"{name}.r"] = r
        out[f"{name}.out"] = y.detach().float()
        if any(s["grad"] for s in specs):
            gr = torch.autograd.grad((y * r.double()).sum(), [x for x, s in zip(xs, specs) if s["grad"]],
                                     allow_unused=True)
            it = iter(gr)
            for k, s in enumerate(specs):
                if s["grad"]:
                    gk = next(it)
                    out[f"{name}.g{k}"] = (gk if gk is not None else torch.zeros_like(xs[k])).float()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"ops_{family}.safetensors")
    write_safetensors(path, out, {"generator": f"tests/golden/gen_ops_{family}.py", "torch": torch.__version__})
    print(f"wrote {path}: {len(cases)} cases")
