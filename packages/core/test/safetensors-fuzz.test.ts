import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DTypeError,
  FormatError,
  SAFETENSORS_DTYPES,
  fromBFloat16Bits,
  fromFloat16Bits,
  inspectSafetensors,
  loadSafetensors,
  parseSafetensors,
  saveSafetensors,
  tensor,
  tensorCount,
  toBFloat16Bits,
  toFloat16Bits,
  type RawTensor,
  type SafetensorsDType,
} from '@nutshell/core';

// Runs per property are listed next to each; 18,500 generated cases in total (10,500 on the parser and
// writer), plus the exhaustive 2 × 65,536-pattern codec checks. Seeds are fixed so failures reproduce.
const SEED = 20240611;

const BITS: Record<SafetensorsDType, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16,
  BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};
const WHOLE_BYTE_DTYPES = SAFETENSORS_DTYPES.filter((d) => BITS[d] % 8 === 0);
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Parsing may succeed or throw a FormatError; anything else (TypeError, RangeError, …) fails the property. */
function parseOrFormatError(bytes: Uint8Array): ReturnType<typeof parseSafetensors> | undefined {
  try {
    return parseSafetensors(bytes);
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}

/** What must hold for anything the parser accepts: sizes match and tensors tile the data buffer. */
function checkAccepted(bytes: Uint8Array, parsed: NonNullable<ReturnType<typeof parseOrFormatError>>): void {
  const headerSize = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  let total = 0;
  for (const t of Object.values(parsed.tensors)) {
    expect(t.data.byteLength * 8).toBe(numel(t.shape) * BITS[t.dtype]);
    expect(t.data.byteOffset - bytes.byteOffset).toBeGreaterThanOrEqual(8 + headerSize);
    total += t.data.byteLength;
  }
  expect(total).toBe(bytes.length - 8 - headerSize);
  // The higher-level readers accept it too, or refuse a dtype/value tfjs cannot hold.
  for (const step of [() => inspectSafetensors(bytes, { values: true }), () => Object.values(loadSafetensors(bytes).tensors).forEach((t) => t.dispose())]) {
    try {
      step();
    } catch (e) {
      if (!(e instanceof DTypeError)) throw e;
    }
  }
}

function withSize(header: Uint8Array, data: Uint8Array, size: bigint = BigInt(header.length)): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, size, true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
const rawArb: fc.Arbitrary<RawTensor> = fc
  .tuple(fc.constantFrom(...WHOLE_BYTE_DTYPES), shapeArb)
  .chain(([dtype, shape]) => {
    const n = (numel(shape) * BITS[dtype]) / 8;
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ dtype, shape, data }));
  });
const nameArb = fc.string({ unit: 'binary', maxLength: 10 }).filter((n) => n !== '__metadata__');
const tensorsArb = fc.dictionary(nameArb, rawArb, { maxKeys: 6 });
const metadataArb = fc.option(fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), { maxKeys: 3 }), {
  nil: undefined,
});
const fileArb = fc.tuple(tensorsArb, metadataArb).map(([tensors, metadata]) => saveSafetensors(tensors, { metadata }));

describe('codecs against independent oracles', () => {
  // Oracle: all non-negative finite values of the format, in bit order (which is value order), plus the
  // next power of two standing for +inf; pick the nearer neighbour, ties to the even pattern.
  function tableOracle(expBits: number, manBits: number) {
    const bias = 2 ** (expBits - 1) - 1;
    const infBits = (2 ** expBits - 1) * 2 ** manBits;
    const values = new Float64Array(infBits + 1);
    for (let b = 0; b <= infBits; b++) {
      const e = Math.floor(b / 2 ** manBits);
      const m = b % 2 ** manBits;
      values[b] = e === 0 ? (m / 2 ** manBits) * 2 ** (1 - bias) : (1 + m / 2 ** manBits) * 2 ** (e - bias);
    }
    const signBit = 2 ** (expBits + manBits);
    return (x: number): number => {
      const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
      const a = Math.abs(x);
      if (a >= values[infBits]!) return sign + infBits;
      let lo = 0;
      let hi = infBits; // values[lo] <= a < values[hi]
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (values[mid]! <= a) lo = mid;
        else hi = mid;
      }
      const dLo = a - values[lo]!;
      const dHi = values[hi]! - a;
      return sign + (dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi);
    };
  }
  const f16Oracle = tableOracle(5, 10);
  const bf16Oracle = tableOracle(8, 7);
  const nonNaN = { noNaN: true } as const;
  const near = (scale: number) => fc.double({ min: -scale, max: scale, noNaN: true });
  // Exact midpoints between neighbouring patterns (where ties-to-even matters), and the doubles just
  // beside them; random doubles almost never hit these.
  const f64 = new Float64Array(1);
  const i64 = new BigInt64Array(f64.buffer);
  const nudge = (x: number, ulps: number) => {
    f64[0] = x;
    i64[0]! += BigInt(ulps);
    return f64[0]!;
  };
  const ties = (decode: (b: number) => number, maxFinite: number) =>
    fc
      .tuple(fc.integer({ min: 0, max: maxFinite }), fc.boolean(), fc.constantFrom(-1, 0, 0, 1))
      .map(([b, neg, ulps]) => (neg ? -1 : 1) * nudge((decode(b) + (b === maxFinite ? 2 * decode(b) - decode(b - 1) : decode(b + 1))) / 2, ulps));

  it('F16 encodes like the oracle (2,500 doubles incl. near-range values + 1,500 float32s)', () => {
    fc.assert(fc.property(fc.oneof(fc.double(nonNaN), near(70000), near(1e-4), ties(fromFloat16Bits, 0x7bff)), (x) => toFloat16Bits(x) === f16Oracle(x)), { numRuns: 2500, seed: SEED });
    fc.assert(fc.property(fc.float(nonNaN), (x) => toFloat16Bits(x) === f16Oracle(x)), { numRuns: 1500, seed: SEED });
  });

  it('BF16 encodes like the oracle (2,500 doubles) and like the float32 bit trick (1,500 float32s)', () => {
    fc.assert(fc.property(fc.oneof(fc.double(nonNaN), near(1e-37), near(4e38), ties(fromBFloat16Bits, 0x7f7f)), (x) => toBFloat16Bits(x) === bf16Oracle(x)), { numRuns: 2500, seed: SEED });
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    fc.assert(
      fc.property(fc.float(nonNaN), (x) => {
        f32[0] = x;
        const bits = u32[0]!;
        return toBFloat16Bits(x) === (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('every F16 and BF16 bit pattern decodes and re-encodes to itself (NaNs: to the canonical NaN)', () => {
    for (let b = 0; b < 0x10000; b++) {
      const h = fromFloat16Bits(b);
      const expectedH = Number.isNaN(h) ? 0x7e00 : b;
      if (toFloat16Bits(h) !== expectedH) throw new Error(`F16 0x${b.toString(16)} → ${h} → 0x${toFloat16Bits(h).toString(16)}`);
      const g = fromBFloat16Bits(b);
      const expectedG = Number.isNaN(g) ? 0x7fc0 : b;
      if (toBFloat16Bits(g) !== expectedG) throw new Error(`BF16 0x${b.toString(16)} → ${g} → 0x${toBFloat16Bits(g).toString(16)}`);
    }
  });
});

describe('parser fuzzing: every failure is a FormatError, never a crash or hang', () => {
  it('random bytes (2,000)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const parsed = parseOrFormatError(bytes);
        if (parsed) checkAccepted(bytes, parsed);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('random JSON headers with a correct size field and random data (1,500)', () => {
    const headerArb = fc.oneof(
      fc.json(),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.record({ dtype: fc.constantFrom(...SAFETENSORS_DTYPES, 'F128'), shape: shapeArb, data_offsets: fc.array(fc.nat(40), { maxLength: 3 }) }), { maxKeys: 4 }).map((h) => JSON.stringify(h)),
    );
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 64 }), (text, data) => {
        const bytes = withSize(new TextEncoder().encode(text), data);
        const parsed = parseOrFormatError(bytes);
        if (parsed) checkAccepted(bytes, parsed);
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('valid files with flipped bytes, truncations, extensions and size-field changes (2,500)', () => {
    const mutationArb = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant('size' as const), size: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 600n })) }),
    );
    fc.assert(
      fc.property(fileArb, mutationArb, (file, m) => {
        let bytes = file.slice();
        if (m.kind === 'flip') for (const [at, x] of m.at) bytes[at % bytes.length] ^= x;
        else if (m.kind === 'truncate') bytes = bytes.subarray(0, m.keep % bytes.length);
        else if (m.kind === 'append') bytes = Uint8Array.from([...bytes, ...m.extra]);
        else new DataView(bytes.buffer).setBigUint64(0, m.size, true);
        const parsed = parseOrFormatError(bytes);
        if (parsed) checkAccepted(bytes, parsed);
        // Appending or truncating always breaks the exact-coverage rule.
        if (m.kind === 'append' || m.kind === 'truncate') expect(parsed).toBeUndefined();
      }),
      { numRuns: 2500, seed: SEED },
    );
  });

  it('valid files with header edits: dtypes, shapes, offsets, entries and metadata (2,500)', () => {
    const junk = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom<unknown>(...SAFETENSORS_DTYPES, 'F128', 'f32', '', null),
      fc.array(fc.oneof(fc.integer({ min: -3, max: 70 }), fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 64, 1.5, -0)), { maxLength: 5 }),
      fc.double(),
    );
    const editArb = fc.record({
      target: fc.nat(),
      field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'delete-field', 'delete-entry', 'add-entry', '__metadata__', 'shift-begin', 'shift-end'),
      value: junk,
      shift: fc.integer({ min: -9, max: 9 }),
      pad: fc.nat(9),
    });
    fc.assert(
      fc.property(fileArb, editArb, (file, edit) => {
        const n = Number(new DataView(file.buffer).getBigUint64(0, true));
        const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
        const names = Object.keys(header).filter((k) => k !== '__metadata__');
        const name = names.length ? names[edit.target % names.length]! : 'x';
        const entry = (header[name] ??= { dtype: 'U8', shape: [0], data_offsets: [0, 0] });
        switch (edit.field) {
          case 'dtype': case 'shape': case 'data_offsets': entry[edit.field] = edit.value; break;
          case 'delete-field': delete entry[['dtype', 'shape', 'data_offsets'][edit.target % 3]!]; break;
          case 'delete-entry': delete header[name]; break;
          case 'add-entry': header[`${name}+`] = { dtype: 'U8', shape: [Math.abs(edit.shift)], data_offsets: [0, Math.abs(edit.shift)] }; break;
          case '__metadata__': (header as Record<string, unknown>).__metadata__ = edit.value; break;
          case 'shift-begin': case 'shift-end': {
            const offs = entry.data_offsets as number[];
            offs[edit.field === 'shift-begin' ? 0 : 1]! += edit.shift;
          }
        }
        const bytes = withSize(new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(edit.pad)), file.subarray(8 + n));
        const parsed = parseOrFormatError(bytes);
        if (parsed) checkAccepted(bytes, parsed);
      }),
      { numRuns: 2500, seed: SEED },
    );
  });
});

describe('writer round trips', () => {
  it('random raw tensors of every whole-byte dtype round-trip exactly, and rewriting is idempotent (1,500)', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const bytes = saveSafetensors(tensors, { metadata });
        const parsed = parseSafetensors(bytes);
        expect(Object.keys(parsed.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          const got = parsed.tensors[name]!;
          expect(got.dtype).toBe(t.dtype);
          expect(got.shape).toEqual(t.shape);
          expect(Buffer.from(got.data).equals(Buffer.from(t.data))).toBe(true);
          // The writer aligns every tensor's data to its element size within the file.
          expect((got.data.byteOffset - bytes.byteOffset) % (BITS[t.dtype] / 8)).toBe(0);
        }
        expect(parsed.metadata).toEqual(metadata);
        expect((Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8)).toBe(0);
        expect(Buffer.from(saveSafetensors(parsed.tensors, { metadata: parsed.metadata })).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('random float32 tensors: exact as F32, nearest-even as F16/BF16, no leaks (500)', () => {
    const before = tensorCount();
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 40 }), fc.constantFrom('F32' as const, 'F16' as const, 'BF16' as const), (values, dtype) => {
        const src = tensor(values, [values.length]);
        const { tensors } = loadSafetensors(saveSafetensors({ x: src }, { dtypes: { x: dtype } }));
        const got = tensors.x!.dataSync();
        src.dispose();
        tensors.x!.dispose();
        const want = Array.from(values, (v) =>
          dtype === 'F32' ? v : dtype === 'F16' ? fromFloat16Bits(toFloat16Bits(v)) : fromBFloat16Bits(toBFloat16Bits(v)),
        );
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Object.is(got[i], Math.fround(want[i]!)) || (Number.isNaN(got[i]) && Number.isNaN(want[i]))).toBe(true);
      }),
      { numRuns: 500, seed: SEED },
    );
    expect(tensorCount()).toBe(before);
  });
});
