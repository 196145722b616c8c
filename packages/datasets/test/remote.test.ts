import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  ChecksumError,
  DatasetNotFoundError,
  DownloadError,
  TINY_SHAKESPEARE,
  loadTinyShakespeare,
  resolveRemoteFile,
  sha256File,
  type RemoteEvent,
  type RemoteFile,
} from '@nutshell/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const work = mkdtempSync(join(tmpdir(), 'nutshell-datasets-remote-'));
const body = Buffer.from('First Citizen:\nBefore we proceed any further, hear me speak.\n'.repeat(2000));
const sha = createHash('sha256').update(body).digest('hex');
let server: Server;
let base = '';
const hits: string[] = [];

beforeAll(async () => {
  // Loopback-only fixture server: /good serves the bytes, /evil other bytes, anything else 404.
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/good.txt') {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/evil.txt') {
      res.end(Buffer.from('not the dataset'));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

function fixture(path = '/good.txt'): RemoteFile {
  return { dataset: 'fixture', url: `${base}${path}`, sha256: sha, bytes: body.length, relativePath: 'fixture/input.txt' };
}

function freshDirs(name: string) {
  const root = join(work, name);
  return { cacheDir: join(root, 'cache'), dataDir: join(root, 'data') };
}

describe('remote datasets: cache, checksum, offline', () => {
  it('a missing dataset offline is a typed error that says where to put it, without touching the network', async () => {
    const dirs = freshDirs('missing');
    const before = hits.length;
    const err = await resolveRemoteFile(fixture(), dirs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    const e = err as DatasetNotFoundError;
    expect(e.code).toBe('E_DATASET_NOT_FOUND');
    expect(e.searched).toEqual([join(dirs.dataDir, 'fixture/input.txt'), join(dirs.cacheDir, 'fixture/input.txt')]);
    expect(e.message).toContain(join(dirs.dataDir, 'fixture/input.txt'));
    expect(e.message).toContain(sha);
    expect(e.message).toContain('download: true');
    expect(hits.length).toBe(before);
  });

  it('downloads into the cache once, verifies, then serves from the cache', async () => {
    const dirs = freshDirs('download');
    const events: RemoteEvent[] = [];
    const first = await resolveRemoteFile(fixture(), { ...dirs, download: true, onEvent: (e) => events.push(e) });
    expect(first).toEqual({ path: join(dirs.cacheDir, 'fixture/input.txt'), source: 'download', sha256: sha, refetched: false });
    expect(readFileSync(first.path)).toEqual(body);
    expect(events.map((e) => e.type)).toEqual(['download', 'downloaded']);
    const before = hits.length;
    const second = await resolveRemoteFile(fixture(), { ...dirs, download: true });
    expect(second.source).toBe('cache');
    expect(hits.length).toBe(before);
    expect(readdirSync(dirname(first.path))).toEqual(['input.txt']);
  });

  it('a corrupted cache file is detected: reported offline, re-fetched when downloads are allowed', async () => {
    const dirs = freshDirs('corrupt');
    const { path } = await resolveRemoteFile(fixture(), { ...dirs, download: true });
    const bad = Buffer.from(body);
    bad[100] ^= 1;
    writeFileSync(path, bad);
    const err = await resolveRemoteFile(fixture(), dirs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as ChecksumError).expected).toBe(sha);
    expect((err as ChecksumError).actual).toBe(createHash('sha256').update(bad).digest('hex'));
    expect((err as Error).message).toMatch(/corrupt/);
    const events: RemoteEvent[] = [];
    const fixed = await resolveRemoteFile(fixture(), { ...dirs, download: true, onEvent: (e) => events.push(e) });
    expect(fixed.refetched).toBe(true);
    expect(fixed.source).toBe('download');
    expect(events[0]).toMatchObject({ type: 'corrupt', action: 'refetch' });
    expect(await sha256File(path)).toBe(sha);
  });

  it('a server sending other bytes fails the checksum and leaves nothing in the cache; HTTP errors are typed', async () => {
    const dirs = freshDirs('evil');
    await expect(resolveRemoteFile(fixture('/evil.txt'), { ...dirs, download: true })).rejects.toBeInstanceOf(ChecksumError);
    expect(existsSync(join(dirs.cacheDir, 'fixture'))).toBe(true);
    expect(readdirSync(join(dirs.cacheDir, 'fixture'))).toEqual([]);
    const err = await resolveRemoteFile(fixture('/missing.txt'), { ...dirs, download: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/HTTP 404/);
  });

  it('reads the data folder (option or NUTSHELL_DATA_DIR) and explicit paths first, and never overwrites them', async () => {
    const dirs = freshDirs('datadir');
    const local = join(dirs.dataDir, 'fixture', 'input.txt');
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, body);
    const before = hits.length;
    expect(await resolveRemoteFile(fixture(), { ...dirs, download: true })).toMatchObject({ path: local, source: 'data-dir' });
    const saved = process.env.NUTSHELL_DATA_DIR;
    process.env.NUTSHELL_DATA_DIR = dirs.dataDir;
    try {
      expect(await resolveRemoteFile(fixture(), { cacheDir: dirs.cacheDir })).toMatchObject({ path: local, source: 'data-dir' });
    } finally {
      if (saved === undefined) delete process.env.NUTSHELL_DATA_DIR;
      else process.env.NUTSHELL_DATA_DIR = saved;
    }
    expect(await resolveRemoteFile(fixture(), { path: local })).toMatchObject({ path: local, source: 'path' });
    expect(hits.length).toBe(before);
    writeFileSync(local, 'tampered');
    await expect(resolveRemoteFile(fixture(), { ...dirs, download: true })).rejects.toBeInstanceOf(ChecksumError);
    expect(readFileSync(local, 'utf8')).toBe('tampered');
    await expect(resolveRemoteFile(fixture(), { path: join(dirs.dataDir, 'nope.txt') })).rejects.toBeInstanceOf(DatasetNotFoundError);
  });
});

/** The shared data folder: NUTSHELL_DATA_DIR, or <repo>/../shared/datasets when it exists. */
function sharedDataDir(): string | undefined {
  const candidates = [process.env.NUTSHELL_DATA_DIR, join(import.meta.dirname, '../../../../shared/datasets')];
  return candidates.find((d) => d && existsSync(join(d, TINY_SHAKESPEARE.relativePath)));
}

describe('tiny Shakespeare', () => {
  it('offline without a copy: DatasetNotFoundError naming NUTSHELL_DATA_DIR and the file', async () => {
    const dirs = freshDirs('tiny-missing');
    const err = await loadTinyShakespeare(dirs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect((err as Error).message).toContain('tinyshakespeare/input.txt');
    expect((err as Error).message).toContain('NUTSHELL_DATA_DIR');
  });

  const shared = sharedDataDir();
  it.skipIf(!shared)('loads from the shared data folder with its checksum (skipped where the folder is absent)', async () => {
    const corpus = await loadTinyShakespeare({ dataDir: shared, cacheDir: join(work, 'unused-cache') });
    expect(corpus.file.source).toBe('data-dir');
    expect(Buffer.byteLength(corpus.text)).toBe(1_115_394);
    expect(corpus.text.startsWith('First Citizen:')).toBe(true);
    expect(corpus.train.length + corpus.validation.length).toBe(corpus.text.length);
    expect(corpus.validation.length).toBe(Math.round(corpus.text.length * 0.1));
  });
});
