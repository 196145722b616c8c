import { NutshellError } from '@nutshell/core';

/** A dataset's files are not where they were looked for (and downloading is off or impossible). */
export class DatasetNotFoundError extends NutshellError {
  constructor(
    readonly dataset: string,
    /** Every place that was looked at, in order. */
    readonly searched: string[],
    /** What to do about it: where to put the file, where to get it. */
    readonly hint: string,
  ) {
    super('E_DATASET_NOT_FOUND', `dataset "${dataset}" not found (looked in: ${searched.join(', ') || '(nowhere)'}); ${hint}`);
  }
}

/** A file's SHA-256 does not match the one the dataset declares. */
export class ChecksumError extends NutshellError {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly actual: string,
    hint: string,
  ) {
    super('E_CHECKSUM', `${path}: sha256 is ${actual}, expected ${expected}; ${hint}`);
  }
}

/** A download failed (HTTP status, network error, or truncated body). */
export class DownloadError extends NutshellError {
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('E_DOWNLOAD', `download of ${url} failed: ${reason}`, options);
  }
}
