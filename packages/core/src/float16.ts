/**
 * IEEE 754 binary16 (F16) and bfloat16 (BF16) bit codecs, used by the safetensors reader and writer.
 *
 * Encoding rounds to nearest, ties to even, straight from a JS number (a double), so there is no
 * double rounding through float32. Values too large for the format become ±Infinity; NaN becomes the
 * canonical quiet NaN (0x7E00 for F16, 0x7FC0 for BF16).
 */

// Scratch views to read a double's biased exponent without Math.log2 (exact and fast).
const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Unbiased binary exponent of a positive, normal double. */
function exponentOf(a: number): number {
  scratchF64[0] = a;
  return ((scratchU32[HI]! >>> 20) & 0x7ff) - 1023;
}

/** Rounds to the nearest integer, ties to the even one (Math.round rounds ties up). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Encodes `x` into a binary float with `expBits` exponent and `manBits` mantissa bits (≤ 16 bits total). */
function encodeBinary(x: number, expBits: number, manBits: number): number {
  const expMax = (1 << expBits) - 1;
  const bias = (expMax >> 1);
  const signBit = 1 << (expBits + manBits);
  if (Number.isNaN(x)) return (expMax << manBits) | (1 << (manBits - 1));
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | (expMax << manBits);
  const emin = 1 - bias;
  if (a < 2 ** emin) {
    // Subnormal range: the mantissa counts units of 2^(emin - manBits). Rounding up to 2^manBits lands
    // exactly on the smallest normal's bit pattern, so no special case is needed.
    return sign | roundHalfEven(a * 2 ** (manBits - emin));
  }
  let e = exponentOf(a);
  // a * 2^(manBits - e) is exact (power-of-two scaling of a double) and lies in [2^manBits, 2^(manBits+1)).
  let m = roundHalfEven(a * 2 ** (manBits - e));
  if (m === 2 ** (manBits + 1)) {
    m = 2 ** manBits;
    e += 1;
  }
  if (e > bias) return sign | (expMax << manBits);
  return sign | ((e + bias) << manBits) | (m - 2 ** manBits);
}

/** The F16 bit pattern (0..0xFFFF) nearest to `x`, ties to even. */
export function toFloat16Bits(x: number): number {
  return encodeBinary(x, 5, 10);
}

/** The number an F16 bit pattern stands for (exact). */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >>> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** The BF16 bit pattern (0..0xFFFF) nearest to `x`, ties to even. */
export function toBFloat16Bits(x: number): number {
  return encodeBinary(x, 8, 7);
}

/** The number a BF16 bit pattern stands for (exact). */
export function fromBFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >>> 7) & 0xff;
  const m = bits & 0x7f;
  if (e === 0) return sign * m * 2 ** -133;
  if (e === 0xff) return m === 0 ? sign * Infinity : NaN;
  return sign * (128 + m) * 2 ** (e - 134);
}

// 8-bit floats are read-only here (decoded for inspection and conversion, never written).

/** F8_E5M2 is the top byte of an F16, so it decodes through the F16 codec. */
export function fromFloat8E5M2Bits(bits: number): number {
  return fromFloat16Bits((bits & 0xff) << 8);
}

/** F8_E4M3 ("fn" variant): bias 7, no infinities, NaN is S.1111.111. */
export function fromFloat8E4M3Bits(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const e = (bits >>> 3) & 0xf;
  const m = bits & 0x7;
  if (e === 0xf && m === 0x7) return NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (8 + m) * 2 ** (e - 10);
}

/** F8_E8M0: an unsigned power of two, 2^(bits - 127); 0xFF is NaN. */
export function fromFloat8E8M0Bits(bits: number): number {
  const b = bits & 0xff;
  return b === 0xff ? NaN : 2 ** (b - 127);
}
