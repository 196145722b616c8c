// Robustness of the spread-spectrum DCT image watermark: `node bench/image-watermark.mjs [images]`.
// Prints one table per image set (synthetic natural images 128×128 and 64×64 at 40 dB, 32-bit payload;
// real MNIST digits 28×28 at 38 dB, 8-bit payload) with bit accuracy and blind detection rate per attack.
import { loadMnist } from '@nutshell/datasets';
import { robustnessReport } from '@nutshell/ethics-audit';
import { naturalImage } from './natural-images.mjs';

const n = Number(process.argv[2] ?? 20);
const mnist = await loadMnist({ range: [0, 255], seed: 0 });
const sets = [
  { name: 'natural 128×128, 40 dB, 32 bits, FPR 1e-4', images: Array.from({ length: n }, (_, i) => naturalImage(i, 128, 128)), bits: 32, psnr: 40, falsePositiveRate: 1e-4 },
  { name: 'natural 64×64, 40 dB, 32 bits, FPR 1e-4', images: Array.from({ length: n }, (_, i) => naturalImage(i, 64, 64)), bits: 32, psnr: 40, falsePositiveRate: 1e-4 },
  { name: 'MNIST 28×28, 38 dB, 8 bits, FPR 1e-2', images: Array.from({ length: n }, (_, i) => ({ width: 28, height: 28, channels: 1, data: Uint8ClampedArray.from(mnist.all.example(i).x) })), bits: 8, psnr: 38, falsePositiveRate: 1e-2 },
];
for (const s of sets) {
  const t = Date.now();
  const r = robustnessReport(s.images, { key: 'bench', bits: s.bits, psnr: s.psnr, falsePositiveRate: s.falsePositiveRate, seed: 1 });
  console.log(`\n${s.name}: ${r.images} images, PSNR mean ${r.psnr.mean.toFixed(2)} dB (min ${r.psnr.min.toFixed(2)}), clean detections ${r.cleanDetections}/${r.images}, ${((Date.now() - t) / 1000).toFixed(1)} s`);
  console.log('| attack | strength | bit accuracy (mean / min) | detection rate | mean z |');
  console.log('|---|---|---|---|---|');
  for (const a of r.attacks) console.log(`| ${a.name} | ${a.strength} | ${(100 * a.bitAccuracy).toFixed(1)}% / ${(100 * a.minBitAccuracy).toFixed(1)}% | ${(100 * a.detectionRate).toFixed(0)}% | ${a.meanZ.toFixed(1)} |`);
}
