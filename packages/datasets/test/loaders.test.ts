import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import {
  CsvParser,
  batchStream,
  csvToDataset,
  decodePng,
  loadCsv,
  loadImageFolder,
  loadJsonl,
  loadTextFolder,
  parseCsv,
  parseJsonl,
  readLines,
  shuffleStream,
  streamCsv,
  streamJsonl,
} from '@nutshell/datasets';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'nutshell-datasets-loaders-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

// A minimal PNG encoder written here (zlib + CRC-32), independent of pngjs, to check the decoder.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** colorType 0 = gray (1 byte/pixel), 2 = RGB (3 bytes/pixel). */
function encodePng(width: number, height: number, colorType: 0 | 2, pixels: number[]): Buffer {
  const bpp = colorType === 0 ? 1 : 3;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = colorType;
  const raw: number[] = [];
  for (let y = 0; y < height; y++) raw.push(0, ...pixels.slice(y * width * bpp, (y + 1) * width * bpp));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from(raw))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

describe('text files and folders', () => {
  it('loads a folder of text files sorted by path with folder labels', async () => {
    const root = join(dir, 'texts');
    mkdirSync(join(root, 'pos'), { recursive: true });
    mkdirSync(join(root, 'neg'), { recursive: true });
    writeFileSync(join(root, 'pos', 'b.txt'), 'good');
    writeFileSync(join(root, 'neg', 'a.txt'), 'bad');
    writeFileSync(join(root, 'top.TXT'), 'top');
    writeFileSync(join(root, 'skip.md'), 'no');
    const docs = await loadTextFolder(root);
    expect(docs.toArray()).toEqual([
      { path: 'neg/a.txt', label: 'neg', text: 'bad' },
      { path: 'pos/b.txt', label: 'pos', text: 'good' },
      { path: 'top.TXT', label: '', text: 'top' },
    ]);
    expect((await loadTextFolder(root, { recursive: false })).length).toBe(1);
    expect((await loadTextFolder(join(root, 'pos', 'b.txt'))).get(0).text).toBe('good');
  });

  it('streams lines across chunk boundaries (CRLF, multi-byte characters, no final newline)', async () => {
    const file = join(dir, 'lines.txt');
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} — ünïcødé ${'x'.repeat(i % 37)}`);
    writeFileSync(file, `${lines.slice(0, 250).join('\r\n')}\r\n${lines.slice(250).join('\n')}`);
    expect(await collect(readLines(file, { highWaterMark: 7 }))).toEqual(lines);
    expect(await collect(readLines(file))).toEqual(lines);
  });

  it('batches and shuffles streams reproducibly', async () => {
    const batches = await collect(batchStream([1, 2, 3, 4, 5], 2));
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(await collect(batchStream([1, 2, 3, 4, 5], 2, { dropLast: true }))).toEqual([[1, 2], [3, 4]]);
    const items = Array.from({ length: 100 }, (_, i) => i);
    const a = await collect(shuffleStream(items, 10, 5));
    expect(a).toEqual(await collect(shuffleStream(items, 10, 5)));
    expect(a).not.toEqual(items);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
  });
});

describe('JSONL', () => {
  it('parses, loads and streams records; errors name the line', async () => {
    const file = join(dir, 'data.jsonl');
    writeFileSync(file, '{"a":1}\n\n{"a":2,"b":"x"}\n');
    expect((await loadJsonl(file)).toArray()).toEqual([{ a: 1 }, { a: 2, b: 'x' }]);
    expect(await collect(streamJsonl(file))).toEqual([{ a: 1 }, { a: 2, b: 'x' }]);
    expect(() => parseJsonl('{"a":1}\n{oops}\n')).toThrow(/line 2/);
    writeFileSync(join(dir, 'bad.jsonl'), '{"a":1}\n{"a":\n');
    await expect(collect(streamJsonl(join(dir, 'bad.jsonl')))).rejects.toThrow(/line 2/);
  });
});

describe('CSV', () => {
  const text = 'name,value,label\r\n"Smith, J.",1.5,cat\n"say ""hi""",2,dog\n"multi\nline",-3e2,cat\n\n';
  const rows = [
    ['Smith, J.', '1.5', 'cat'],
    ['say "hi"', '2', 'dog'],
    ['multi\nline', '-3e2', 'cat'],
  ];

  it('parses quotes, escaped quotes, embedded newlines and CRLF', () => {
    expect(parseCsv(text)).toEqual({ columns: ['name', 'value', 'label'], rows });
    expect(parseCsv('a;b\n1;2', { delimiter: ';', header: false })).toEqual({ columns: ['c0', 'c1'], rows: [['a', 'b'], ['1', '2']] });
    expect(() => parseCsv('a,b\n1,2,3\n')).toThrow(/3 fields, expected 2/);
    expect(() => parseCsv('a\n"open\n')).toThrow(/never closed/);
  });

  it('gives the same rows whatever the chunking (one character at a time)', () => {
    const p = new CsvParser();
    const got: string[][] = [];
    for (const ch of text) got.push(...p.push(ch));
    got.push(...p.end());
    expect(got).toEqual([['name', 'value', 'label'], ...rows]);
  });

  it('loads and streams files, and turns columns into a dataset', async () => {
    const file = join(dir, 'table.csv');
    writeFileSync(file, text);
    expect(await loadCsv(file)).toEqual({ columns: ['name', 'value', 'label'], rows });
    expect(await collect(streamCsv(file))).toEqual(rows.map(([name, value, label]) => ({ name, value, label })));
    const ds = csvToDataset(await loadCsv(file), { features: ['value'], label: 'label' });
    expect(Array.from(ds.x)).toEqual([1.5, 2, -300]);
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(Array.from(ds.y!)).toEqual([0, 1, 0]);
    expect(() => csvToDataset(parseCsv(text), { features: ['name'] })).toThrow(/not a number/);
  });
});

describe('PNG images', () => {
  it('decodes gray and RGB PNGs to floats in [0, 1] (checked against a hand-written encoder)', () => {
    const gray = decodePng(encodePng(3, 2, 0, [0, 128, 255, 10, 20, 30]), { channels: 1 });
    expect([gray.width, gray.height, gray.channels]).toEqual([3, 2, 1]);
    expect(Array.from(gray.data)).toEqual([0, 128, 255, 10, 20, 30].map((v) => Math.fround(v / 255)));
    const rgbPixels = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
    const rgb = decodePng(encodePng(2, 2, 2, rgbPixels), { channels: 3 });
    expect(Array.from(rgb.data)).toEqual(rgbPixels.map((v) => Math.fround(v / 255)));
    const luma = decodePng(encodePng(2, 2, 2, rgbPixels), { channels: 1 });
    expect(luma.data[0]).toBeCloseTo(0.299, 5);
    expect(luma.data[1]).toBeCloseTo(0.587, 5);
    expect(luma.data[3]).toBeCloseTo((0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255, 5);
    expect(decodePng(encodePng(1, 1, 0, [7]), { channels: 4 }).data[3]).toBe(1);
    expect(() => decodePng(new Uint8Array([1, 2, 3]))).toThrow(/png/);
  });

  it('loads an image folder with class subfolders (ImageFolder layout)', async () => {
    const root = join(dir, 'images');
    mkdirSync(join(root, 'b_dark'), { recursive: true });
    mkdirSync(join(root, 'a_light'), { recursive: true });
    writeFileSync(join(root, 'a_light', '1.png'), encodePng(2, 2, 0, [255, 255, 255, 200]));
    writeFileSync(join(root, 'a_light', '2.png'), encodePng(2, 2, 0, [250, 255, 255, 255]));
    writeFileSync(join(root, 'b_dark', '1.png'), encodePng(2, 2, 0, [0, 0, 5, 0]));
    const ds = await loadImageFolder(root, { channels: 1 });
    expect(ds.classes).toEqual(['a_light', 'b_dark']);
    expect(ds.shape).toEqual([2, 2, 1]);
    expect(Array.from(ds.y!)).toEqual([0, 0, 1]);
    expect(ds.example(2).x[2]).toBeCloseTo(5 / 255, 6);
    writeFileSync(join(root, 'b_dark', '2.png'), encodePng(3, 1, 0, [0, 0, 0]));
    await expect(loadImageFolder(root, { channels: 1 })).rejects.toThrow(/expected 2×2/);
  });
});
