/** The data the build put next to the page (see scripts/data-assets.ts). */
function assetUrl(file: string): string {
  return new URL(file, document.baseURI).href;
}

async function fetchOk(file: string): Promise<Response> {
  const res = await fetch(assetUrl(file));
  if (!res.ok) throw new Error(`could not load ${file}: HTTP ${res.status}`);
  return res;
}

let glosses: Promise<string> | undefined;
export function loadGlosses(): Promise<string> {
  glosses ??= fetchOk('data/glosses.txt').then((r) => r.text());
  return glosses;
}

export interface DigitSlice {
  /** N × 196 pixels in [0, 1], 14×14 row-major. */
  pixels: Float32Array;
  labels: Uint8Array;
  count: number;
}

let digits: Promise<DigitSlice> | undefined;
export function loadDigits(): Promise<DigitSlice> {
  digits ??= fetchOk('data/mnist-14.bin').then(async (r) => {
    const bytes = new Uint8Array(await r.arrayBuffer());
    const count = bytes.length / 197;
    if (!Number.isInteger(count)) throw new Error(`mnist-14.bin: ${bytes.length} bytes is not N × 197`);
    const pixels = new Float32Array(count * 196);
    for (let i = 0; i < pixels.length; i++) pixels[i] = bytes[count + i]! / 255;
    return { pixels, labels: bytes.slice(0, count), count };
  });
  return digits;
}
