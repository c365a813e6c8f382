"""check_safetensors_py.py — cross-check genmod's safetensors reader/writer with Python.

Dev-time only (needs torch and the `safetensors` package: pip install safetensors); CI never runs it.

1. Writes tests/golden/py_written.safetensors with the Python `safetensors` library (every dtype
   genmod reads, a scalar, an empty tensor, metadata). tests/test_safetensors.c reads this committed
   file and checks the exact values listed in `expected()` below, so the C test needs no Python.
2. Runs `<test_safetensors binary> --write OUT` (genmod's writer; the content is described in
   tests/test_safetensors.c: write_export) and reads OUT with safetensors.torch.load_file,
   safetensors.safe_open (metadata) and safetensors.numpy.load_file, checking every value.
3. Runs `<test_safetensors binary>` (the normal test) so the freshly written Python file is read.

Usage: python3 tests/golden/check_safetensors_py.py BUILD_DIR/test_safetensors
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import load_file as np_load_file
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def expected():
    """The tensors of py_written.safetensors (all values exact in their dtype)."""
    return {
        "f32": torch.tensor([[0.5, -1.25, 3.0], [1e-3, 65504.0, -0.0]], dtype=torch.float32),
        "f64": torch.tensor([0.1, -2.0, 1e30], dtype=torch.float64),
        "f16": torch.tensor([1.0, -0.5, 65504.0, 2.0**-24], dtype=torch.float16),
        "bf16": torch.tensor([[1.0, -2.5], [3.140625, -1e38]], dtype=torch.bfloat16),
        "f8e4m3": torch.tensor([1.0, -0.5, 448.0, 2.0**-9], dtype=torch.float8_e4m3fn),
        "f8e5m2": torch.tensor([1.0, -0.25, 57344.0, 2.0**-16], dtype=torch.float8_e5m2),
        "i64": torch.tensor([-5, 0, 2**40], dtype=torch.int64),
        "i32": torch.tensor([-7, 123456], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "u8": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
        "i8": torch.tensor([-128, -1, 127], dtype=torch.int8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(42.0, dtype=torch.float32),
        "empty": torch.zeros((0, 4), dtype=torch.float32),
    }


def write_golden(path):
    save_file(expected(), path, metadata={"who": "python", "note": "v\u00e4lue \"q\""})
    size = os.path.getsize(path)
    assert size < 2048, size
    print(f"wrote {path} ({size} bytes)")


def check_c_written(binary):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "c_written.safetensors")
        subprocess.run([binary, "--write", out], check=True)
        t = load_file(out)
        want = {
            "w": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1.0,
            "idx": torch.tensor([-3, 0, 1 << 40, 7], dtype=torch.int64),
            "mask": torch.tensor([1, 0, 255, 3, 9], dtype=torch.uint8),
            "s": torch.tensor(2.5, dtype=torch.float32),
            "e": torch.zeros((0, 3), dtype=torch.float32),
            "h": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64),
        }
        assert sorted(t) == sorted(want), sorted(t)
        for k, v in want.items():
            assert t[k].dtype == v.dtype and t[k].shape == v.shape, (k, t[k].dtype, t[k].shape)
            assert torch.equal(t[k], v), (k, t[k], v)
        with safe_open(out, framework="pt") as f:
            md = f.metadata()
        assert md == {"format": "genmod-test", "unicode": "\u00e9\u20ac\"\\", "empty": ""}, md
        n = np_load_file(out)
        assert np.array_equal(n["w"], want["w"].numpy())
        with open(out, "rb") as f:
            hlen = int.from_bytes(f.read(8), "little")
        assert hlen % 8 == 0, hlen
        print(f"Python read genmod's file: {len(t)} tensors and metadata OK")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    binary = sys.argv[1]
    write_golden(os.path.join(HERE, "py_written.safetensors"))
    check_c_written(binary)
    env = dict(os.environ, GENMOD_SOURCE_DIR=os.path.dirname(os.path.dirname(HERE)))
    subprocess.run([binary], check=True, env=env)
    print("genmod read Python's file: OK")


if __name__ == "__main__":
    main()
