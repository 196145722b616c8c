import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@nutshell/core/node';

/**
 * The demo's report folder, written atomically as a whole: every file goes into a staging folder
 * next to the target (`.DIR.partial-PID`), and only when the demo has finished is it renamed to
 * DIR (an older DIR is moved aside first, then removed). A failed or interrupted run leaves the
 * previous report untouched and no half-written one.
 */
export class ReportDir {
  readonly target: string;
  readonly staging: string;
  private readonly written: string[] = [];

  constructor(target: string) {
    this.target = resolve(target);
    this.staging = join(dirname(this.target), `.${basename(this.target)}.partial-${process.pid}`);
  }

  async open(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
    await mkdir(this.staging, { recursive: true });
  }

  /** Absolute path inside the staging folder (for libraries that write files themselves). */
  path(relative: string): string {
    return join(this.staging, relative);
  }

  async write(relative: string, bytes: Uint8Array | string): Promise<string> {
    const file = this.path(relative);
    await mkdir(dirname(file), { recursive: true });
    await writeFileAtomic(file, bytes);
    this.written.push(relative);
    return relative;
  }

  /** Registers files that a library wrote into the staging folder. */
  track(...relative: string[]): void {
    this.written.push(...relative);
  }

  get files(): readonly string[] {
    return [...new Set(this.written)].sort();
  }

  /** Moves the finished report into place. */
  async commit(): Promise<void> {
    const old = join(dirname(this.target), `.${basename(this.target)}.old-${process.pid}`);
    const exists = await stat(this.target).then(() => true, () => false);
    if (exists) await rename(this.target, old);
    await rename(this.staging, this.target);
    if (exists) await rm(old, { recursive: true, force: true });
  }

  async abort(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}
