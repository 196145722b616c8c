import { Rng } from '@nutshell/core';

/**
 * The keyed pseudo-random pattern of the image watermark: for every (block row, block column,
 * coefficient) slot of the original image's 8×8 grid, a chip ±1 and the payload bit it carries.
 * Indexed by absolute block position, not by image size, so a cropped image still maps to the same
 * slots once the grid offset is found. A keyed integer mixer (murmur3's fmix32), not a cryptographic
 * PRF: like every spread-spectrum mark, the pattern can be estimated from many marked images.
 */
export class KeyedPattern {
  private readonly k: Uint32Array;

  constructor(key: string, readonly bits: number) {
    const rng = new Rng(`image-watermark:${key}`);
    this.k = Uint32Array.from({ length: 4 }, () => rng.nextUint32());
  }

  /** A 32-bit hash of the slot; bit 0 is the chip sign, the rest picks the payload bit. */
  private hash(blockRow: number, blockCol: number, coef: number): number {
    let h = fmix(this.k[0]! ^ Math.imul(blockRow + 1, 0x9e3779b1));
    h = fmix(h ^ this.k[1]! ^ Math.imul(blockCol + 1, 0x85ebca77));
    h = fmix(h ^ this.k[2]! ^ Math.imul(coef + 1, 0xc2b2ae3d));
    return fmix(h ^ this.k[3]!);
  }

  /** Writes chip (±1) and bit index of the slot into out[0], out[1]. */
  slot(blockRow: number, blockCol: number, coef: number, out: Int32Array): void {
    const h = this.hash(blockRow, blockCol, coef);
    out[0] = h & 1 ? 1 : -1;
    out[1] = (h >>> 1) % this.bits;
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
