/**
 * A fast 53-bit string hash (two multiplicative lanes, cyrb53-style) for split assignment. Stable
 * across platforms and Node versions; not cryptographic.
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Maps a key to a number in [0, 1), the same for the same (key, seed) everywhere. */
export function unitHash(key: string, seed: number | string = 0): number {
  return hash53(`${String(seed)}\u0000${key}`) / 2 ** 53;
}
