import { FormatError } from '@nutshell/core';

/**
 * Reads the number array of a `{ "data": [ … ] }` JSON file straight into a Float32Array, without
 * building a JS array of 600k+ doubles first. Numbers are decimal (optionally with a fraction and
 * exponent); the value is mantissa / 10^k, which is exact-then-rounded like JSON.parse for the
 * short numbers these files hold.
 */
export function parseDataArray(bytes: Uint8Array, file: string): Float32Array {
  let p = bytes.indexOf(0x5b); // '['
  if (p < 0) throw new FormatError('mnist json', `${file}: no "[" found`);
  p++;
  let out = new Float32Array(1 << 16);
  let n = 0;
  const n0 = 0x30;
  while (p < bytes.length) {
    let c = bytes[p]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2c) { p++; continue; }
    if (c === 0x5d) { // ']'
      return out.slice(0, n);
    }
    let sign = 1;
    if (c === 0x2d) { sign = -1; p++; c = bytes[p]!; }
    let mant = 0;
    let digits = 0;
    let scale = 0;
    while (c >= n0 && c <= n0 + 9) { mant = mant * 10 + (c - n0); digits++; c = bytes[++p]!; }
    if (c === 0x2e) {
      c = bytes[++p]!;
      while (c >= n0 && c <= n0 + 9) { mant = mant * 10 + (c - n0); scale++; digits++; c = bytes[++p]!; }
    }
    if (c === 0x65 || c === 0x45) {
      c = bytes[++p]!;
      let es = 1;
      if (c === 0x2d || c === 0x2b) { es = c === 0x2d ? -1 : 1; c = bytes[++p]!; }
      let e = 0;
      while (c >= n0 && c <= n0 + 9) { e = e * 10 + (c - n0); c = bytes[++p]!; }
      scale -= es * e;
    }
    if (digits === 0 || digits > 15) throw new FormatError('mnist json', `${file}: unexpected byte ${JSON.stringify(String.fromCharCode(bytes[p] ?? 0))} at offset ${p}`);
    const v = scale > 0 ? mant / 10 ** scale : mant * 10 ** -scale;
    if (n === out.length) {
      const grown = new Float32Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[n++] = sign * v;
  }
  throw new FormatError('mnist json', `${file}: the data array is not closed with "]"`);
}
