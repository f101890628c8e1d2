"""Recompute a zerodl chapter 3 network's logits in NumPy from its checkpoint alone.

Usage: check_logits.py CHECKPOINT INPUTS
INPUTS is a safetensors file with `x` (N x 784 images) and `logits` (what zerodl computed). Exits 0 when NumPy's
logits match zerodl's to float32 precision, 1 otherwise. Only numpy and safetensors are needed: no zerodl code.
"""
import sys

import numpy as np
from safetensors.numpy import load_file

ckpt = load_file(sys.argv[1])
data = load_file(sys.argv[2])
x, expected = data["x"], data["logits"]

# The network: layer0 (784 x H), ReLU, layer1 (H x 10); rows are examples, x @ W + b, as in the book.
h = np.maximum(x @ ckpt["layer0.weight"] + ckpt["layer0.bias"], 0.0)
logits = h @ ckpt["layer1.weight"] + ckpt["layer1.bias"]

assert ckpt["layer0.weight"].dtype == np.float32 and ckpt["layer0.weight"].shape[0] == 784
err = np.abs(logits - expected).max()
scale = np.abs(expected).max()
print(f"{x.shape[0]} images, largest difference {err:.3e} on logits up to {scale:.3e}")
sys.exit(0 if err <= 1e-5 * max(1.0, scale) else 1)
