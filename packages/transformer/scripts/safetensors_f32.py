"""Writes float32 tensors in the safetensors layout; shared by the fixture scripts in this folder."""
import json
import struct

import torch


def write_safetensors(path, tensors, metadata):
    """The safetensors format: u64 LE header length, JSON header (8-byte aligned), raw LE data."""
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
