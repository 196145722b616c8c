import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ChecksumError, DownloadError } from '../errors.js';

export interface DownloadOptions {
  /** Expected SHA-256 (hex); the file is only moved into place when it matches. */
  sha256?: string;
  /** Abort after this many milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Injected fetch (tests, proxies); defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * Streams `url` into `dest` through a temporary file next to it, hashing on the way; the temporary
 * file is renamed into place only after the status, length and checksum are right, so a failed or
 * interrupted download never leaves a corrupt file at `dest`. Returns the SHA-256 and byte count.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<{ sha256: string; bytes: number }> {
  const doFetch = options.fetch ?? globalThis.fetch;
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`;
  const signal = AbortSignal.timeout(options.timeoutMs ?? 60_000);
  let response: Response;
  try {
    response = await doFetch(url, { signal });
  } catch (e) {
    throw new DownloadError(url, (e as Error).message, { cause: e });
  }
  if (!response.ok || !response.body) throw new DownloadError(url, `HTTP ${response.status} ${response.statusText}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const out = createWriteStream(tmp);
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > 0 && declared !== bytes && !response.headers.get('content-encoding')) {
      throw new DownloadError(url, `received ${bytes} bytes, the server announced ${declared}`);
    }
    const sha256 = hash.digest('hex');
    if (options.sha256 && sha256 !== options.sha256.toLowerCase()) {
      throw new ChecksumError(url, options.sha256, sha256, 'the server sent different bytes than the dataset declares; nothing was written');
    }
    await rename(tmp, dest);
    return { sha256, bytes };
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    if (e instanceof DownloadError || e instanceof ChecksumError) throw e;
    throw new DownloadError(url, (e as Error).message, { cause: e });
  }
}
