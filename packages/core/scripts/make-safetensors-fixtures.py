#!/usr/bin/env python3
"""Writes the safetensors fixtures of packages/core/test/fixtures/ and the values the tests expect.

Run: /usr/bin/python3 packages/core/scripts/make-safetensors-fixtures.py   (needs python3-torch, python3-numpy)

Debian has no python3-safetensors, so the file layout is written here by hand, following the reference
writer (huggingface/safetensors, `tensor.rs` `prepare`/`serialize`):
  - tensors sorted by descending dtype alignment (the reference's `Dtype` enum order), then by name;
  - header = compact JSON (serde_json: no spaces, UTF-8 not escaped), "__metadata__" first, then the
    tensors in data order with keys dtype, shape, data_offsets;
  - header padded with spaces to a multiple of 8; u64 little-endian header size; then the data.
The reference keeps metadata in a HashMap (unspecified order); like nutshell, this script sorts its keys.

Numeric conversions (float32 -> float16/bfloat16 with round-to-nearest-even, the integer encodings) are
done by torch/numpy, so the tests check nutshell's codecs against an independent implementation.
"""
import json
import math
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures')

# The reference's Dtype enum, ascending alignment.
ORDER = ['BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16',
         'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64']


def to_bytes(dtype, values, shape):
    """Little-endian bytes of `values` stored as `dtype`, converted by torch or numpy."""
    if dtype == 'F32':
        return np.array(values, dtype='<f4').reshape(shape).tobytes()
    if dtype == 'F64':
        return np.array(values, dtype='<f8').reshape(shape).tobytes()
    if dtype == 'F16':
        t = torch.tensor(values, dtype=torch.float32).reshape(shape).to(torch.float16)
        return t.view(torch.int16).numpy().astype('<i2').tobytes()
    if dtype == 'BF16':
        t = torch.tensor(values, dtype=torch.float32).reshape(shape).to(torch.bfloat16)
        bits = t.view(torch.int16).numpy().astype('<i2').view('<u2').copy()
        # torch 1.13's vectorized cast writes NaN as 0xFFFF; store the canonical quiet NaN 0x7FC0 (what
        # c10's scalar path and nutshell write) so the fixture also checks the writer byte for byte.
        bits[((bits & 0x7F80) == 0x7F80) & ((bits & 0x7F) != 0)] = 0x7FC0
        return bits.tobytes()
    if dtype == 'BOOL':
        return torch.tensor(values, dtype=torch.bool).reshape(shape).numpy().tobytes()
    np_dtype = {'I8': '<i1', 'U8': '<u1', 'I16': '<i2', 'U16': '<u2', 'I32': '<i4', 'U32': '<u4',
                'I64': '<i8', 'U64': '<u8'}[dtype]
    return np.array(values, dtype=np_dtype).reshape(shape).tobytes()


def decoded(dtype, data):
    """The values stored in `data`, decoded by numpy/torch, JSON-ready the way inspectSafetensors is."""
    if dtype == 'BF16':
        arr = np.frombuffer(data, dtype='<i2').copy()
        vals = torch.from_numpy(arr).view(torch.bfloat16).to(torch.float64).tolist()
    elif dtype == 'BOOL':
        vals = [1 if b else 0 for b in data]
    else:
        np_dtype = {'F32': '<f4', 'F64': '<f8', 'F16': '<f2', 'I8': '<i1', 'U8': '<u1', 'I16': '<i2',
                    'U16': '<u2', 'I32': '<i4', 'U32': '<u4', 'I64': '<i8', 'U64': '<u8'}[dtype]
        vals = np.frombuffer(data, dtype=np_dtype).tolist()
    return [json_value(v) for v in vals]


def json_value(v):
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, int):
        return v if abs(v) <= 2**53 - 1 else str(v)
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return float(v)


def write(name, tensors, metadata=None):
    """tensors: {name: (dtype, shape, values)}. Writes NAME.safetensors; returns the expectations."""
    items = sorted(tensors.items(), key=lambda kv: (-ORDER.index(kv[1][0]), kv[0]))
    header = {}
    if metadata is not None:
        header['__metadata__'] = {k: metadata[k] for k in sorted(metadata)}
    blobs = []
    offset = 0
    for tname, (dtype, shape, values) in items:
        data = to_bytes(dtype, values, shape)
        header[tname] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(os.path.join(OUT, name + '.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    inspect = {'format': 'safetensors', 'metadata': header.get('__metadata__'), 'tensors': {}}
    inputs = {}
    for (tname, (dtype, shape, values)), data in zip(items, blobs):
        inspect['tensors'][tname] = {'dtype': dtype, 'shape': list(shape), 'values': decoded(dtype, data)}
        inputs[tname] = [json_value(v) for v in values]
    return {'inspect': inspect, 'inputs': inputs}


def main():
    os.makedirs(OUT, exist_ok=True)
    nan, inf = float('nan'), float('inf')
    f32 = lambda x: float(np.float32(x))
    expected = {}

    expected['reference'] = write('reference', {
        'f32': ('F32', [2, 5], [0.0, -0.0, 1.0, -1.5, f32(3.4028235e38), f32(1e-45), inf, -inf, nan, f32(0.1)]),
        # Ties and edges of float32 -> float16 rounding (torch rounds to nearest even).
        'f16': ('F16', [18], [1.0, 65504.0, 65520.0, f32(65519.996), 2.0**-24, 2.0**-25, 3 * 2.0**-25,
                              1 + 2.0**-11, 1 + 3 * 2.0**-11, nan, inf, -inf, -0.0, f32(0.1),
                              2.0**-14, 2.0**-14 - 2.0**-24, 1e5, f32(-2.7182817)]),
        'bf16': ('BF16', [3, 4], [1.0, 1 + 2.0**-8, 1 + 3 * 2.0**-8, f32(3.3895314e38), f32(3.4e38),
                                  f32(1e-40), nan, -inf, f32(0.1), -2.5, 2.0**-133, f32(-3.1415927)]),
        'f64': ('F64', [6], [0.1, 1 / 3, 1e300, -5e-324, nan, inf]),
        'i64': ('I64', [2, 2], [-2**31, 2**31 - 1, 0, -1]),
        'i32': ('I32', [2, 2], [-2**31, 2**31 - 1, 7, -7]),
        'i16': ('I16', [3], [-32768, 32767, 1]),
        'i8': ('I8', [3], [-128, 127, 0]),
        'u8': ('U8', [3], [0, 255, 128]),
        'u16': ('U16', [2], [0, 65535]),
        'u32': ('U32', [2], [0, 2**31 - 1]),
        'u64': ('U64', [2], [0, 12345]),
        'mask': ('BOOL', [3], [True, False, True]),
        'scalar': ('F32', [], [3.5]),
        'scalar_i64': ('I64', [], [42]),
        'empty_f32': ('F32', [0, 3], []),
        'empty_bf16': ('BF16', [2, 0], []),
        'empty_i8': ('I8', [0], []),
        # Names that test ordering (code points, integer-like keys), escaping and prototype safety.
        '0': ('F32', [1], [1.0]),
        '10': ('F32', [1], [2.0]),
        '2': ('F32', [1], [3.0]),
        'a.weight': ('F32', [2], [4.0, 5.0]),
        'Z': ('F32', [1], [6.0]),
        'émoji_😀': ('F32', [1], [7.0]),
        'ｆull': ('F32', [1], [8.0]),
        'we"ird\\na\nme\x01': ('F32', [1], [9.0]),
        '__proto__': ('I32', [1], [10]),
    }, metadata={'format': 'pt', 'note': 'ünïcode ✓ "quoted"', 'b': '2', 'a': '1'})

    # 64-bit values beyond int32 (and beyond 2^53): inspect shows them, loading as int32 must refuse.
    expected['big-ints'] = write('big-ints', {
        'i64': ('I64', [4], [2**53 + 1, -2**63, 2**63 - 1, 2**40]),
        'u64': ('U64', [2], [2**64 - 1, 0]),
        'u32': ('U32', [1], [2**32 - 1]),
    })

    # No tensors; byte-identical to the reference crate's own `test_empty` vectors.
    expected['empty'] = write('empty', {})
    expected['empty-metadata'] = write('empty-metadata', {}, metadata={'framework': 'pt'})

    with open(os.path.join(OUT, 'expected.json'), 'w', encoding='utf-8') as f:
        json.dump(expected, f, ensure_ascii=False, indent=1, allow_nan=False)
        f.write('\n')


if __name__ == '__main__':
    main()
