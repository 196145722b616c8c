"""Reference values for @nutshell/gan's SRGAN pieces, from PyTorch.

Run with Debian's python3-torch (1.13): /usr/bin/python3 packages/gan/scripts/make_torch_fixtures.py
Writes packages/gan/test/fixtures/torch-sr.json. Tensors are stored NHWC (nutshell's layout),
flattened row-major; PyTorch computes in NCHW and the values are transposed on the way out.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous().reshape(-1).tolist()


def shape_nhwc(t):
    n, c, h, w = t.shape
    return [n, h, w, c]


cases = {}
# PixelShuffle: channel c·r² + i·r + j goes to pixel (h·r + i, w·r + j) of channel c.
for r, c in [(2, 3), (3, 2), (4, 1)]:
    x = torch.randn(2, c * r * r, 3, 4)
    y = torch.nn.PixelShuffle(r)(x)
    cases[f"pixel_shuffle_r{r}"] = {"r": r, "input": nhwc(x), "input_shape": shape_nhwc(x), "output": nhwc(y), "output_shape": shape_nhwc(y)}

# Bicubic upsampling, align_corners=False (PyTorch's A = -0.75, edge-clamped taps).
for scale in [2, 4]:
    x = torch.rand(2, 1, 7, 5)
    y = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    cases[f"bicubic_x{scale}"] = {"scale": scale, "input": nhwc(x), "input_shape": shape_nhwc(x), "output": nhwc(y), "output_shape": shape_nhwc(y)}

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "torch-sr.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print("wrote", os.path.normpath(out), "with", ", ".join(cases))
