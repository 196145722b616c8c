import { InvalidArgumentError, describe, type CommandInput } from '@nutshell/core';
import { detectImageWatermark, embedImageWatermark } from '../image-watermark/spread-spectrum.js';
import { readPngImage, writePngImage } from './png-io.js';

type Opts = CommandInput['options'];

/** Payload bits from "0110…" or hex "0x…" (4 bits per digit, most significant first). */
export function parsePayload(v: unknown, what = '--payload'): number[] {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !s) throw new InvalidArgumentError(`${what}: give the payload as bits ("0110…") or hex ("0x…"), got ${describe(v)}`);
  if (/^[01]+$/.test(s)) return [...s].map(Number);
  if (/^0x[0-9a-f]+$/i.test(s)) return [...s.slice(2)].flatMap((d) => parseInt(d, 16).toString(2).padStart(4, '0').split('').map(Number));
  throw new InvalidArgumentError(`${what}: expected bits ("0110…") or hex ("0x…"), got ${describe(s)}`);
}

function key(o: Opts): string {
  if (typeof o.key !== 'string' || !o.key) throw new InvalidArgumentError('--key: required (the watermark key)');
  return o.key;
}

function optionalNumber(o: Opts, name: string): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`option --${name}: expected a number, got ${describe(v)}`);
  return v;
}

/** `audit watermark-image embed|detect` on PNG files. */
export function imageWatermarkCommand(input: CommandInput): unknown {
  const { args, options: o, print } = input;
  const action = args[1];
  if (action === 'embed') {
    if (typeof o.out !== 'string' || !o.out) throw new InvalidArgumentError('watermark-image embed: --out OUT.png is required');
    const payload = parsePayload(o.payload);
    const { image, depth } = readPngImage(String(o.in ?? ''));
    const r = embedImageWatermark(image, payload, { key: key(o), psnr: optionalNumber(o, 'psnr') });
    writePngImage(o.out, r.image);
    print(`embedded ${payload.length} bits in ${image.width}×${image.height} (${image.channels} channel${image.channels > 1 ? 's' : ''}) at PSNR ${r.psnr.toFixed(2)} dB → ${o.out}`);
    return { out: o.out, width: image.width, height: image.height, channels: image.channels, sourceBitDepth: depth, psnr: r.psnr, strength: r.strength, slots: r.slots, bits: payload.length, payload: payload.join('') };
  }
  if (action === 'detect') {
    const expected = o.payload === undefined ? undefined : parsePayload(o.payload);
    const bits = expected?.length ?? optionalNumber(o, 'bits');
    if (bits === undefined) throw new InvalidArgumentError('watermark-image detect: give --bits N (the payload length) or the expected --payload');
    if (expected && o.bits !== undefined && o.bits !== expected.length) throw new InvalidArgumentError(`watermark-image detect: --bits ${describe(o.bits)} does not match the ${expected.length}-bit --payload`);
    const { image } = readPngImage(String(o.in ?? ''));
    const r = detectImageWatermark(image, { key: key(o), bits, expected, falsePositiveRate: optionalNumber(o, 'fpr'), maxShift: optionalNumber(o, 'max-shift') });
    print(`${r.detected ? 'WATERMARKED' : 'not detected'}: z = ${r.z.toFixed(2)}, p = ${r.pValue.toExponential(2)} (${r.statistic}, offset ${r.offset.top},${r.offset.left})`);
    print(`payload ${r.bits.join('')}${r.bitAccuracy !== undefined ? `, bit accuracy ${(100 * r.bitAccuracy).toFixed(1)}%` : ''}`);
    return { ...r, payload: r.bits.join('') };
  }
  throw new InvalidArgumentError(`watermark-image: expected "embed" or "detect", got ${describe(action)}`);
}
