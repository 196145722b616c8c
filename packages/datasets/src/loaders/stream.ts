import { createReadStream } from 'node:fs';
import { Rng, rngFor, InvalidArgumentError } from '@nutshell/core';

/**
 * Lines of a text file, read in chunks so files larger than memory work (tfjs-data style). Handles
 * \n and \r\n; the last line may lack a newline.
 */
export async function* readLines(path: string, options: { encoding?: BufferEncoding; highWaterMark?: number } = {}): AsyncGenerator<string> {
  const stream = createReadStream(path, { encoding: options.encoding ?? 'utf8', highWaterMark: options.highWaterMark ?? 1 << 16 });
  let rest = '';
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      yield text.charCodeAt(nl - 1) === 13 && nl > start ? text.slice(start, nl - 1) : text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/** Text chunks of a file (decoded UTF-8, never splitting a character), for character-level streaming. */
export async function* readTextChunks(path: string, chunkBytes = 1 << 16): AsyncGenerator<string> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: chunkBytes });
  for await (const chunk of stream as AsyncIterable<string>) yield chunk;
}

/** Groups a stream into arrays of `size` items (the last one may be shorter unless `dropLast`). */
export async function* batchStream<T>(source: AsyncIterable<T> | Iterable<T>, size: number, options: { dropLast?: boolean } = {}): AsyncGenerator<T[]> {
  if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError(`batchStream: size must be a positive integer, got ${size}`);
  let batch: T[] = [];
  for await (const item of source) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0 && !options.dropLast) yield batch;
}

/**
 * Approximate shuffle of a stream with a buffer of `bufferSize` items (like tf.data's shuffle):
 * seeded, so the same stream and seed give the same order.
 */
export async function* shuffleStream<T>(source: AsyncIterable<T> | Iterable<T>, bufferSize: number, seed?: number | string | Rng): AsyncGenerator<T> {
  if (!Number.isInteger(bufferSize) || bufferSize < 1) throw new InvalidArgumentError(`shuffleStream: bufferSize must be a positive integer, got ${bufferSize}`);
  const rng = seed instanceof Rng ? seed : seed === undefined ? rngFor() : new Rng(seed);
  const buffer: T[] = [];
  for await (const item of source) {
    if (buffer.length < bufferSize) {
      buffer.push(item);
      continue;
    }
    const j = rng.int(bufferSize);
    yield buffer[j]!;
    buffer[j] = item;
  }
  rng.shuffle(buffer);
  yield* buffer;
}
