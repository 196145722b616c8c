import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DTypeError,
  FormatError,
  InvalidArgumentError,
  SAFETENSORS_DTYPES,
  complex,
  fromBFloat16Bits,
  fromFloat16Bits,
  inspectSafetensors,
  loadSafetensors,
  parseSafetensors,
  rawTensor,
  rawToTensor,
  saveSafetensors,
  tensor,
  tensorCount,
  tensorToRaw,
  toBFloat16Bits,
  toFloat16Bits,
  type RawTensor,
  type SafetensorsDType,
  type SafetensorsWriteDType,
  type Tensor,
} from '@nutshell/core';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from '@nutshell/core/node';
import { expectNoLeak } from '@nutshell/core/testing';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
type Json = number | string;
interface Expected {
  inspect: { format: string; metadata: Record<string, string> | null; tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; values: Json[] }> };
  inputs: Record<string, Json[]>;
}
const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as Record<string, Expected>;
const num = (v: Json) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : (v as number));

/** Builds a file by hand: u64 LE header size, header bytes, data. */
function build(header: string | object, data: Uint8Array | number = 0, sizeField?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, sizeField ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

/** The FormatError `fn` throws (fails the test if it throws anything else or nothing). */
function formatError(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    expect((e as FormatError).format).toBe('safetensors');
    expect((e as FormatError).code).toBe('E_FORMAT');
    return e as FormatError;
  }
  throw new Error('expected a FormatError, nothing was thrown');
}
const parseError = (bytes: Uint8Array) => formatError(() => parseSafetensors(bytes)).message;

/** Only strings, finite numbers, null, arrays and plain objects: JSON.stringify loses nothing (but the sign of -0). */
const isJsonReady = (v: unknown): boolean =>
  v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ||
  (Array.isArray(v) ? v.every(isJsonReady) : typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(isJsonReady));
const f32bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
const tensorInputs = (dtype: SafetensorsDType, shape: number[], input: Json[]): Tensor | RawTensor => {
  if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16') return tensor(input.map(num), shape, 'float32');
  if (dtype === 'I32') return tensor(input.map(num), shape, 'int32');
  if (dtype === 'BOOL') return tensor(input.map((v) => v !== 0), shape, 'bool');
  if (dtype === 'I64' || dtype === 'U64') return rawTensor(dtype, shape, input.map((v) => BigInt(v)));
  return rawTensor(dtype, shape, input.map(num));
};

describe('reference byte layout', () => {
  // The byte vectors of the reference crate's own tests (safetensors/src/tensor.rs).
  it('writes test_serialization exactly', () => {
    const out = saveSafetensors({ 'attn.0': tensor([0, 1, 2, 3, 4, 5], [1, 2, 3]) });
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect(Array.from(out)).toEqual([64, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...f32bytes([0, 1, 2, 3, 4, 5])]);
  });

  it('pads the header with spaces to a multiple of 8 (test_serialization_forced_alignement)', () => {
    const out = saveSafetensors({ attn0: tensor([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]) });
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(65);
    expect(Array.from(out)).toEqual([72, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header + ' '.repeat(7)), ...f32bytes([0, 1, 2, 3, 4, 5])]);
  });

  it('writes empty files like test_empty', () => {
    expect(Array.from(saveSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(saveSafetensors({}, { metadata: { framework: 'pt' } }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109,
      101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
    expect(parseSafetensors(saveSafetensors({}))).toEqual({ metadata: undefined, tensors: {} });
  });

  it('orders tensors by descending dtype alignment, then name, and aligns their data', () => {
    const raws: Record<string, RawTensor> = {
      b8: rawTensor('U8', [3], [1, 2, 3]),
      a8: rawTensor('I8', [1], [-1]),
      f64: rawTensor('F64', [1], [0.5]),
      h: rawTensor('F16', [1], [1]),
      z: rawTensor('F32', [1], [2]),
      a: rawTensor('F32', [1], [3]),
      m: rawTensor('BOOL', [1], [true]),
    };
    const out = saveSafetensors(raws);
    const parsed = parseSafetensors(out);
    expect(Object.keys(parsed.tensors)).toEqual(['f64', 'a', 'z', 'h', 'a8', 'b8', 'm']);
    for (const t of Object.values(parsed.tensors)) {
      expect(t.data.byteOffset % (t.data.byteLength / Math.max(1, t.shape.reduce((x, y) => x * y, 1)))).toBe(0);
    }
  });
});

describe('fixtures written by PyTorch/numpy', () => {
  for (const name of ['reference', 'big-ints', 'empty', 'empty-metadata']) {
    it(`${name}: inspect --values shows the values torch/numpy stored`, () => {
      const got = inspectSafetensors(fixture(`${name}.safetensors`), { values: true });
      expect(got).toEqual(expected[name]!.inspect);
      expect(isJsonReady(got)).toBe(true);
    });
  }

  for (const name of ['reference', 'big-ints', 'empty', 'empty-metadata']) {
    it(`${name}: saveSafetensors writes the same bytes from the same inputs`, async () => {
      const exp = expected[name]!;
      const inputs: Record<string, Tensor | RawTensor> = {};
      const dtypes: Record<string, SafetensorsWriteDType> = {};
      for (const [tname, info] of Object.entries(exp.inspect.tensors)) {
        Object.defineProperty(inputs, tname, { value: tensorInputs(info.dtype, info.shape, exp.inputs[tname]!), enumerable: true });
        if (info.dtype === 'F16' || info.dtype === 'BF16') Object.defineProperty(dtypes, tname, { value: info.dtype, enumerable: true });
      }
      const out = saveSafetensors(inputs, { metadata: exp.inspect.metadata ?? undefined, dtypes });
      for (const t of Object.values(inputs)) if ('dispose' in t) t.dispose();
      expect(Buffer.from(out).equals(Buffer.from(fixture(`${name}.safetensors`)))).toBe(true);
    });
  }

  it('reference: loadSafetensors gives tfjs tensors with the expected dtypes and values', async () => {
    const exp = expected.reference!.inspect;
    await expectNoLeak(() => {
      const { tensors, metadata } = loadSafetensors(fixture('reference.safetensors'));
      expect(metadata).toEqual(exp.metadata);
      expect(Object.keys(tensors).sort()).toEqual(Object.keys(exp.tensors).sort());
      expect(Object.hasOwn(tensors, '__proto__')).toBe(true);
      for (const [name, info] of Object.entries(exp.tensors)) {
        const t = tensors[name]!;
        const tfDtype = info.dtype === 'BOOL' ? 'bool' : info.dtype.startsWith('F') || info.dtype === 'BF16' ? 'float32' : 'int32';
        expect(t.dtype, name).toBe(tfDtype);
        expect(t.shape, name).toEqual(info.shape);
        expect(Array.from(t.dataSync() as ArrayLike<number>), name).toEqual(info.values.map((v) => (tfDtype === 'float32' ? Math.fround(num(v)) : num(v))));
      }
      return tensors;
    });
  });

  it('big-ints: converting 64-bit values beyond int32 is a DTypeError that says which value, and leaks nothing', async () => {
    const before = tensorCount();
    expect(() => loadSafetensors(fixture('big-ints.safetensors'))).toThrow(DTypeError);
    expect(tensorCount()).toBe(before);
    const { tensors } = parseSafetensors(fixture('big-ints.safetensors'));
    expect(() => rawToTensor(tensors.i64!, 'i64')).toThrow(/tensor "i64": I64 value 9007199254740993 at flat index 0 does not fit in int32/);
    expect(() => rawToTensor(tensors.u64!, 'u64')).toThrow(/U64 value 18446744073709551615 at flat index 0 does not fit in int32/);
    expect(() => rawToTensor(tensors.u32!, 'u32')).toThrow(/U32 value 4294967295/);
  });
});

describe('F16 / BF16 codecs (hand-computed bit patterns)', () => {
  const f16: [number, number][] = [
    [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [0.5, 0x3800], [0, 0x0000], [-0, 0x8000], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [1 / 3, 0x3555], [0.1, 0x2e66],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3C00 and 0x3C01: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3C01 and 0x3C02: to even
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: to even (0)
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units: to even
    [65519, 0x7bff], [65520, 0x7c00], // 65520 is halfway to 65536: ties to even overflows to +inf
    [2 ** -14 - 2 ** -25, 0x0400], // rounds up from the subnormal range into the smallest normal
  ];
  const hex = (b: number) => `0x${b.toString(16).padStart(4, '0').toUpperCase()}`;
  it.each(f16.map(([x, b]) => [x, b, hex(b)] as const))('F16 %d ↔ %s', (x, bits) => {
    expect(toFloat16Bits(x)).toBe(bits);
    if (x !== 1 + 2 ** -11 && x !== 1 + 3 * 2 ** -11 && x !== 2 ** -25 && x !== 3 * 2 ** -25 && x !== 65519 && x !== 65520 && x !== 2 ** -14 - 2 ** -25 && x !== 1 / 3 && x !== 0.1) {
      expect(Object.is(fromFloat16Bits(bits), x)).toBe(true);
    }
  });
  it('F16 NaN encodes as the canonical quiet NaN and all NaN patterns decode as NaN', () => {
    expect(toFloat16Bits(NaN)).toBe(0x7e00);
    expect(fromFloat16Bits(0x7c01)).toBeNaN();
    expect(fromFloat16Bits(0xfe00)).toBeNaN();
    expect(fromFloat16Bits(0x3555)).toBe(0.333251953125);
  });

  const bf16: [number, number][] = [
    [1, 0x3f80], [-2, 0xc000], [0, 0x0000], [-0, 0x8000], [Infinity, 0x7f80], [-Infinity, 0xff80], [3.140625, 0x4049],
    [Math.PI, 0x4049], [0.1, 0x3dcd],
    [1 + 2 ** -8, 0x3f80], // tie: to even
    [1 + 3 * 2 ** -8, 0x3f82], // tie: to even (up)
    [2 ** -126, 0x0080], // smallest normal
    [2 ** -133, 0x0001], // smallest subnormal
    [2 ** -134, 0x0000], // tie with 0: to even
    [(2 - 2 ** -7) * 2 ** 127, 0x7f7f], // largest finite
    [(2 - 2 ** -8) * 2 ** 127, 0x7f80], // halfway to 2^128: ties to even overflows to +inf
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up to inf in bf16
  ];
  it.each(bf16.map(([x, b]) => [x, b, hex(b)] as const))('BF16 %d ↔ %s', (x, bits) => {
    expect(toBFloat16Bits(x)).toBe(bits);
  });
  it('BF16 decodes exactly, NaN is canonical', () => {
    expect(fromBFloat16Bits(0x3f80)).toBe(1);
    expect(fromBFloat16Bits(0x4049)).toBe(3.140625);
    expect(fromBFloat16Bits(0x0001)).toBe(2 ** -133);
    expect(fromBFloat16Bits(0x7f7f)).toBe((2 - 2 ** -7) * 2 ** 127);
    expect(fromBFloat16Bits(0xff80)).toBe(-Infinity);
    expect(toBFloat16Bits(NaN)).toBe(0x7fc0);
    expect(fromBFloat16Bits(0x7fc1)).toBeNaN();
  });
  it('encodes doubles without double rounding through float32', () => {
    // 1 + 2^-11 + 2^-40 is just above the F16 tie: it must round up. Via float32 it would become the tie and round down.
    expect(toFloat16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    expect(Math.fround(1 + 2 ** -11 + 2 ** -40)).toBe(1 + 2 ** -11);
  });
  it('the writer stores these patterns little-endian', () => {
    const out = parseSafetensors(saveSafetensors({ h: tensor([1, -2]), b: tensor([1, -2]) }, { dtypes: { h: 'F16', b: 'BF16' } }));
    expect(Array.from(out.tensors.h!.data)).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    expect(Array.from(out.tensors.b!.data)).toEqual([0x80, 0x3f, 0x00, 0xc0]);
  });
});

describe('round trips', () => {
  const samples: Record<SafetensorsDType, (number | bigint | boolean)[]> = {
    F64: [0.1, -1e300, NaN, -Infinity, 5e-324, -0], F32: [0.25, -3, NaN, Infinity, 1e-45, -0], F16: [1, -0.5, 65504, NaN, 2 ** -24, -0],
    BF16: [1, -0.5, 3.140625, NaN, 2 ** -133, -0], I64: [-(2n ** 63n), 2n ** 63n - 1n, 0, -1, 5, 7], I32: [-(2 ** 31), 2 ** 31 - 1, 0, -1, 5, 7],
    I16: [-32768, 32767, 0, -1, 5, 7], I8: [-128, 127, 0, -1, 5, 7], U8: [0, 255, 1, 2, 3, 4], U16: [0, 65535, 1, 2, 3, 4],
    U32: [0, 2 ** 32 - 1, 1, 2, 3, 4], U64: [0n, 2n ** 64n - 1n, 1, 2, 3, 4], BOOL: [true, false, true, true, false, false],
    F8_E5M2: [], F8_E4M3: [], F8_E8M0: [], F4: [], F6_E2M3: [], F6_E3M2: [], C64: [],
  };
  const encodable = SAFETENSORS_DTYPES.filter((d) => samples[d].length > 0);

  it.each(encodable)('%s: full, 0-d and zero-size tensors and metadata survive save → parse byte for byte', (dtype) => {
    const vals = samples[dtype];
    const tensors = {
      full: rawTensor(dtype, [2, 3], vals),
      scalar: rawTensor(dtype, [], vals.slice(0, 1)),
      empty: rawTensor(dtype, [3, 0, 2], []),
      none: rawTensor(dtype, [0], []),
    };
    const metadata = { format: 'nutshell', 'ключ': 'значение ✓', empty: '' };
    const bytes = saveSafetensors(tensors, { metadata });
    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata).toEqual(metadata);
    for (const [name, t] of Object.entries(tensors)) {
      const got = parsed.tensors[name]!;
      expect(got.dtype).toBe(dtype);
      expect(got.shape).toEqual(t.shape);
      expect(Array.from(got.data)).toEqual(Array.from(t.data));
    }
    // Writing what was read gives the same bytes.
    expect(Buffer.from(saveSafetensors(parsed.tensors, { metadata: parsed.metadata })).equals(Buffer.from(bytes))).toBe(true);
  });

  it('tfjs tensors round-trip: float32 exactly as F32, int32 as I32, bool as BOOL, 0-d and zero-size included', async () => {
    await expectNoLeak(() => {
      const src = {
        f: tensor([0.1, -2.5, NaN, Infinity, -0, 3.4e38], [2, 3]),
        i: tensor([-(2 ** 31), 2 ** 31 - 1, 0], [3], 'int32'),
        b: tensor([true, false], [2, 1], 'bool'),
        s: tensor(1.5),
        z: tensor([], [0, 4]),
      };
      const { tensors } = loadSafetensors(saveSafetensors(src));
      for (const [name, t] of Object.entries(src)) {
        expect(tensors[name]!.dtype).toBe(t.dtype);
        expect(tensors[name]!.shape).toEqual(t.shape);
        expect(Array.from(tensors[name]!.dataSync() as ArrayLike<number>)).toEqual(Array.from(t.dataSync() as ArrayLike<number>));
      }
      return [src, tensors];
    });
  });

  it('float32 stored as F16/BF16/F64 and int32 stored as narrower or wider integers', async () => {
    await expectNoLeak(() => {
      const f = tensor([1, 0.1, 65519, 1e-8]);
      const i = tensor([-5, 0, 100], [3], 'int32');
      const u = tensor([0, 65535], [2], 'int32');
      const bytes = saveSafetensors({ h: f, b: f, d: f, i8: i, i64: i, u }, {
        dtypes: { h: 'F16', b: 'BF16', d: 'F64', i8: 'I8', i64: 'I64', u: 'U16' },
      });
      const parsed = parseSafetensors(bytes);
      expect(Object.fromEntries(Object.entries(parsed.tensors).map(([k, v]) => [k, v.dtype]))).toEqual({
        h: 'F16', b: 'BF16', d: 'F64', i8: 'I8', i64: 'I64', u: 'U16',
      });
      const { tensors } = loadSafetensors(bytes);
      expect(Array.from(tensors.h!.dataSync())).toEqual([1, 0.0999755859375, 65504, 0]);
      expect(Array.from(tensors.b!.dataSync())).toEqual([1, 0.10009765625, 65536, Math.fround(fromBFloat16Bits(toBFloat16Bits(1e-8)))]);
      expect(Array.from(tensors.d!.dataSync())).toEqual(Array.from(f.dataSync()));
      expect(Array.from(tensors.i8!.dataSync())).toEqual([-5, 0, 100]);
      expect(Array.from(tensors.i64!.dataSync())).toEqual([-5, 0, 100]);
      expect(tensors.u!.dtype).toBe('int32');
      expect(Array.from(tensors.u!.dataSync())).toEqual([0, 65535]);
      return [f, i, u, tensors];
    });
  });

  it('parse returns views into the input (no copy); tensors never alias it', () => {
    const bytes = saveSafetensors({ a: tensor([1, 2, 3]) });
    const { tensors } = parseSafetensors(bytes);
    expect(tensors.a!.data.buffer).toBe(bytes.buffer);
    const t = rawToTensor(tensors.a!);
    bytes.fill(0, bytes.length - 12);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    t.dispose();
  });

  it('handles unaligned views (file embedded at an odd offset, and a Node Buffer)', async () => {
    const file = saveSafetensors({ f: tensor([1.5, -2]), d: rawTensor('F64', [2], [0.1, 2]), h: rawTensor('F16', [1], [3]), i: rawTensor('I64', [1], [-7]) });
    const host = new Uint8Array(file.length + 1);
    host.set(file, 1);
    const shifted = host.subarray(1);
    await expectNoLeak(() => {
      const { tensors } = loadSafetensors(shifted);
      expect(Array.from(tensors.f!.dataSync())).toEqual([1.5, -2]);
      expect(Array.from(tensors.d!.dataSync())).toEqual([Math.fround(0.1), 2]);
      expect(Array.from(tensors.h!.dataSync())).toEqual([3]);
      expect(Array.from(tensors.i!.dataSync())).toEqual([-7]);
      return tensors;
    });
    expect(inspectSafetensors(shifted, { values: true }).tensors.d!.values).toEqual([0.1, 2]);
    const parsed = parseSafetensors(Buffer.from(file));
    expect(Object.getPrototypeOf(parsed.tensors.f!.data)).toBe(Uint8Array.prototype);
  });

  it('rawToTensor maps every convertible dtype', async () => {
    await expectNoLeak(() => {
      const out: Tensor[] = [];
      const cases: [SafetensorsDType, (number | bigint | boolean)[], string, number[]][] = [
        ['U8', [0, 255], 'int32', [0, 255]], ['I8', [-128, 5], 'int32', [-128, 5]], ['U16', [65535, 1], 'int32', [65535, 1]],
        ['I16', [-32768, 2], 'int32', [-32768, 2]], ['U32', [2 ** 31 - 1, 0], 'int32', [2 ** 31 - 1, 0]],
        ['I64', [-(2 ** 31), 3n], 'int32', [-(2 ** 31), 3]], ['U64', [2n ** 31n - 1n, 0], 'int32', [2 ** 31 - 1, 0]],
        ['BOOL', [true, false], 'bool', [1, 0]], ['F64', [1e300, 0.5], 'float32', [Infinity, 0.5]],
      ];
      for (const [dtype, values, tfDtype, want] of cases) {
        const t = rawToTensor(rawTensor(dtype, [2], values));
        out.push(t);
        expect(t.dtype, dtype).toBe(tfDtype);
        expect(Array.from(t.dataSync() as ArrayLike<number>), dtype).toEqual(want);
      }
      // Read-only 8-bit floats: F8_E4M3 0x7E = 448 (its max), F8_E5M2 0x3C = 1, F8_E8M0 0x80 = 2.
      const f8 = (dtype: SafetensorsDType, bytes: number[]) => rawToTensor({ dtype, shape: [bytes.length], data: new Uint8Array(bytes) });
      out.push(f8('F8_E4M3', [0x7e, 0x01, 0xb8, 0x7f]), f8('F8_E5M2', [0x3c, 0x7c, 0x01]), f8('F8_E8M0', [0x80, 0x7f, 0x00]));
      expect(Array.from(out.at(-3)!.dataSync())).toEqual([448, 2 ** -9, -1, NaN]);
      expect(Array.from(out.at(-2)!.dataSync())).toEqual([1, Infinity, 2 ** -16]);
      expect(Array.from(out.at(-1)!.dataSync())).toEqual([2, 1, 2 ** -127].map(Math.fround));
      // BOOL bytes other than 0/1 read as true.
      const b = rawToTensor({ dtype: 'BOOL', shape: [2], data: new Uint8Array([2, 0]) });
      out.push(b);
      expect(Array.from(b.dataSync())).toEqual([1, 0]);
      return out;
    });
    expect(() => rawToTensor({ dtype: 'C64', shape: [1], data: new Uint8Array(8) }, 'c')).toThrow(/tensor "c": C64 cannot be converted to a tfjs tensor/);
  });

  it('inspect: JSON-ready values, metadata null when absent, no values unless asked', () => {
    const bytes = saveSafetensors({ f: tensor([NaN, Infinity, -Infinity, 0.5]), b: tensor([true, false], [2], 'bool') });
    const info = inspectSafetensors(bytes);
    expect(info).toEqual({ format: 'safetensors', metadata: null, tensors: { f: { dtype: 'F32', shape: [4] }, b: { dtype: 'BOOL', shape: [2] } } });
    const withValues = inspectSafetensors(bytes, { values: true });
    expect(withValues.tensors.f!.values).toEqual(['NaN', 'Infinity', '-Infinity', 0.5]);
    expect(withValues.tensors.b!.values).toEqual([1, 0]);
  });
});

describe('malformed files are FormatErrors that say what was expected and what was given', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

  it('accepts the hand-built baseline', () => {
    expect(parseSafetensors(build(ok, 8)).tensors.a!.shape).toEqual([2]);
  });
  it('fewer than 8 bytes', () => {
    expect(parseError(new Uint8Array(5))).toBe('safetensors: expected at least 8 bytes (the header size), got 5');
  });
  it('header size over the 100,000,000-byte limit (checked before allocating)', () => {
    expect(parseError(build('{}', 0, 100_000_001n))).toBe('safetensors: header size 100000001 exceeds the limit of 100000000 bytes');
    expect(parseError(build('{}', 0, 2n ** 64n - 1n))).toMatch(/header size 18446744073709551615 exceeds the limit/);
  });
  it('header larger than the file', () => {
    expect(parseError(build('{}', 0, 50n))).toBe('safetensors: header size is 50 bytes, but only 2 bytes follow the size field');
  });
  it('header not UTF-8', () => {
    const bytes = build('{"a":1}');
    bytes[10] = 0xff;
    expect(parseError(bytes)).toBe('safetensors: expected the 7-byte header to be UTF-8 text, got invalid UTF-8');
  });
  it('header not JSON (including a byte-order mark, which the reference rejects too)', () => {
    expect(parseError(build('{"a":'))).toMatch(/^safetensors: expected the header to be JSON, got a parse error: /);
    expect(parseError(build('\uFEFF{}'))).toMatch(/expected the header to be JSON/);
    expect(parseError(build(''))).toMatch(/expected the header to be JSON/);
  });
  it('header not an object', () => {
    expect(parseError(build('[]'))).toBe('safetensors: expected the header to be a JSON object, got an array');
    expect(parseError(build('null'))).toBe('safetensors: expected the header to be a JSON object, got null');
    expect(parseError(build('"x"'))).toBe('safetensors: expected the header to be a JSON object, got a string');
  });
  it('entry not an object', () => {
    expect(parseError(build({ w: [1, 2] }))).toBe('safetensors: tensor "w": expected an object with "dtype", "shape" and "data_offsets", got an array ([1, 2])');
  });
  it('unknown or missing dtype', () => {
    expect(parseError(build({ w: { dtype: 'F128', shape: [], data_offsets: [0, 16] } }, 16))).toMatch(
      /^safetensors: tensor "w": expected "dtype" to be one of BOOL, .*, U64, got "F128"$/,
    );
    expect(parseError(build({ w: { dtype: 'f32', shape: [], data_offsets: [0, 4] } }, 4))).toMatch(/got "f32"$/);
    expect(parseError(build({ w: { shape: [], data_offsets: [0, 4] } }, 4))).toMatch(/expected "dtype" to be one of .*, got undefined$/);
  });
  it('negative, non-integer or non-numeric shape dims', () => {
    const shapeError = (shape: unknown) => parseError(build({ w: { dtype: 'U8', shape, data_offsets: [0, 1] } }, 1));
    expect(shapeError([-1])).toBe('safetensors: tensor "w": expected "shape" to be an array of non-negative integers, got [-1]');
    expect(shapeError([1.5])).toMatch(/got \[1\.5\]$/);
    expect(shapeError(['1'])).toMatch(/got \["1"\]$/);
    expect(shapeError(3)).toMatch(/got 3$/);
    expect(shapeError([2 ** 60])).toMatch(/non-negative integers, got \[1152921504606847000\]$/);
  });
  it('bad data_offsets entries', () => {
    const offError = (off: unknown) => parseError(build({ w: { dtype: 'U8', shape: [1], data_offsets: off } }, 1));
    expect(offError([0, 1, 2])).toBe('safetensors: tensor "w": expected "data_offsets" to be [begin, end] with non-negative integers, got [0, 1, 2]');
    expect(offError([-1, 0])).toMatch(/got \[-1, 0\]$/);
    expect(offError(null)).toMatch(/got null$/);
  });
  it('offsets out of range', () => {
    expect(parseError(build({ w: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, 2))).toBe(
      'safetensors: tensor "w": data_offsets [0, 4] run past the end of the 2-byte data buffer',
    );
  });
  it('overlapping offsets', () => {
    const h = { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } };
    expect(parseError(build(h, 6))).toBe('safetensors: tensor "b": data_offsets [2, 6] overlap the previous tensor, which ends at 4');
  });
  it('gaps, including a first tensor that does not begin at 0', () => {
    const h = { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [3, 5] } };
    expect(parseError(build(h, 5))).toBe(
      'safetensors: tensor "b": data_offsets [3, 5] leave a gap: expected it to begin at 2 (tensors must cover the data buffer contiguously from 0), got 3',
    );
    expect(parseError(build({ a: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } }, 3))).toMatch(/leave a gap: expected it to begin at 0 .*, got 1$/);
  });
  it('offsets that end before they begin', () => {
    expect(parseError(build({ a: { dtype: 'U8', shape: [0], data_offsets: [0, 0] }, b: { dtype: 'U8', shape: [0], data_offsets: [0, 0] }, c: { dtype: 'U8', shape: [2], data_offsets: [2, 0] } }, 2))).toBe(
      'safetensors: tensor "c": data_offsets [2, 0] leave a gap: expected it to begin at 0 (tensors must cover the data buffer contiguously from 0), got 2',
    );
    expect(parseError(build({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [1], data_offsets: [2, 1] } }, 2))).toBe(
      'safetensors: tensor "b": data_offsets [2, 1] end before they begin',
    );
  });
  it('byte length different from numel × dtype size', () => {
    expect(parseError(build({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20))).toBe(
      'safetensors: tensor "w": expected 24 bytes for F32 of shape [2, 3], got data_offsets [0, 20] (20 bytes)',
    );
  });
  it('trailing bytes after the last tensor', () => {
    expect(parseError(build(ok, 9))).toBe('safetensors: expected the data buffer to end where the last tensor ends (8 bytes), got 9 bytes (1 trailing)');
    expect(parseError(build({}, 3))).toMatch(/end where the last tensor ends \(0 bytes\), got 3 bytes/);
  });
  it('absurd element counts overflow instead of allocating', () => {
    const big = 2 ** 31;
    expect(parseError(build({ w: { dtype: 'F64', shape: [big, big, big], data_offsets: [0, 8] } }, 8))).toBe(
      'safetensors: tensor "w": shape [2147483648, 2147483648, 2147483648] overflows: expected numel × 64 bits to be at most 2^53 − 1',
    );
    // Like the reference's checked multiplication, overflow is detected before a later 0 dim.
    expect(parseError(build({ w: { dtype: 'U8', shape: [big, big, 0], data_offsets: [0, 0] } }))).toMatch(/overflows/);
    // Fits in numel but not in bytes.
    expect(parseError(build({ w: { dtype: 'U64', shape: [2 ** 50], data_offsets: [0, 8] } }, 8))).toMatch(/overflows/);
  });
  it('sub-byte dtypes must fill whole bytes', () => {
    expect(parseError(build({ w: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2))).toBe(
      'safetensors: tensor "w": 3 elements of F4 (4 bits each) do not fill whole bytes',
    );
  });
  it('bad __metadata__', () => {
    expect(parseError(build({ __metadata__: [] }))).toBe('safetensors: expected "__metadata__" to be an object of strings, got an array');
    expect(parseError(build({ __metadata__: { n: 1 } }))).toBe('safetensors: expected "__metadata__" values to be strings, got a number (1) for key "n"');
    expect(parseSafetensors(build({ __metadata__: null })).metadata).toBeUndefined();
  });
  it('lone surrogates (invalid in the reference JSON parser)', () => {
    expect(parseError(build('{"\\ud800":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'))).toMatch(/lone surrogate/);
    expect(parseError(build('{"__metadata__":{"k":"\\udc00"}}'))).toMatch(/lone surrogate in key "k"/);
  });
  it('accepts what the reference accepts: any offset order, extra fields, zero-size tensors sharing an offset, trailing header spaces', () => {
    const h = {
      z: { dtype: 'U8', shape: [2], data_offsets: [0, 2], extra: true },
      a: { dtype: 'U8', shape: [1], data_offsets: [2, 3] },
      e1: { dtype: 'F32', shape: [0, 5], data_offsets: [3, 3] },
      e2: { dtype: 'F32', shape: [5, 0], data_offsets: [3, 3] },
    };
    const parsed = parseSafetensors(build(`${JSON.stringify(h)}   `, new Uint8Array([1, 2, 3])));
    expect(Object.keys(parsed.tensors)).toEqual(['z', 'a', 'e1', 'e2']);
    expect(Array.from(parsed.tensors.a!.data)).toEqual([3]);
  });
  it('loadSafetensors and inspectSafetensors report the same FormatErrors', () => {
    expect(formatError(() => loadSafetensors(build(ok, 9))).message).toMatch(/1 trailing/);
    expect(formatError(() => inspectSafetensors(build(ok, 9))).message).toMatch(/1 trailing/);
  });
});

describe('writer argument checks', () => {
  it('rejects bad arguments with typed errors and leaks nothing', async () => {
    await expectNoLeak(() => {
      const f = tensor([1, 2]);
      const i = tensor([1, 300], [2], 'int32');
      expect(() => saveSafetensors({ f }, { dtypes: { g: 'F16' } })).toThrow(InvalidArgumentError);
      expect(() => saveSafetensors({ f }, { dtypes: { f: 'I32' } })).toThrow(/tensor "f": a float32 tensor can be stored as F32, F64, F16, BF16, got "I32"/);
      expect(() => saveSafetensors({ i }, { dtypes: { i: 'I8' } })).toThrow(/tensor "i": value 300 at flat index 1 does not fit in I8; expected an integer in \[-128, 127\]/);
      expect(() => saveSafetensors({ i }, { dtypes: { i: 'I8' } })).toThrow(DTypeError);
      expect(() => saveSafetensors({ __metadata__: f })).toThrow(/reserved/);
      expect(() => saveSafetensors({ f }, { metadata: { a: 1 as unknown as string } })).toThrow(/metadata values to be strings/);
      expect(() => saveSafetensors({ r: { dtype: 'F32', shape: [3], data: new Uint8Array(8) } })).toThrow(
        /tensor "r": expected 12 bytes for F32 of shape \[3\], got 8/,
      );
      expect(() => saveSafetensors({ r: rawTensor('U8', [1], [1]) }, { dtypes: { r: 'I8' } })).toThrow(/written as is/);
      const parts = [tensor([1]), tensor([2])] as const;
      const c = complex(parts[0], parts[1]);
      expect(() => saveSafetensors({ c })).toThrow(/tensor "c": expected a float32, int32 or bool tensor, got complex64/);
      expect(() => rawTensor('F32', [2], [1])).toThrow(/expected 2 values for shape \[2\], got 1/);
      expect(() => rawTensor('I32', [1], [0.5])).toThrow(DTypeError);
      return [f, i, c, parts];
    });
    const d = tensor([1]);
    d.dispose();
    expect(() => saveSafetensors({ d })).toThrow(/tensor "d": expected a live tensor, got a disposed one/);
  });

  it('tensorToRaw and saveSafetensors create no tensors', async () => {
    const t = tensor([1, 2, 3]);
    await expectNoLeak(() => {
      tensorToRaw(t, 'BF16');
      saveSafetensors({ t });
    });
    t.dispose();
  });
});

describe('@nutshell/core/node files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nutshell-st-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writeSafetensorsFile / readSafetensorsFile round-trip, leaving no temp files', async () => {
    const path = join(dir, 'model.safetensors');
    const w = tensor([[1, 2], [3, 4]]);
    await writeSafetensorsFile(path, { w }, { metadata: { step: '3' }, dtypes: { w: 'BF16' } });
    w.dispose();
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    await expectNoLeak(async () => {
      const { tensors, metadata } = await readSafetensorsFile(path);
      expect(metadata).toEqual({ step: '3' });
      expect(tensors.w!.shape).toEqual([2, 2]);
      expect(Array.from(tensors.w!.dataSync())).toEqual([1, 2, 3, 4]);
      return tensors;
    });
  });

  it('writeFileAtomic replaces an existing file and cleans up after a failure', async () => {
    const path = join(dir, 'ckpt.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect(Array.from(readFileSync(path))).toEqual([1, 2, 3]);
    await expect(writeFileAtomic(join(dir, 'missing', 'x.bin'), 'x')).rejects.toThrow(/ENOENT/);
    // Renaming onto a directory fails after the temp file was written: the temp file must be removed.
    const sub = join(dir, 'adir');
    mkdirSync(join(sub, 'inner'), { recursive: true });
    await expect(writeFileAtomic(sub, 'x')).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(sub)).toBe(true);
  });

  it('readSafetensorsFile reports malformed files as FormatError', async () => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, build('{"a":', 0));
    await expect(readSafetensorsFile(path)).rejects.toBeInstanceOf(FormatError);
  });
});
