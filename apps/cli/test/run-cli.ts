import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built binary, as users run it. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns `node dist/bin.js ...args` and collects its output (never rejects on a non-zero exit). */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    // pnpm puts its hoisted store on NODE_PATH, through which core would find (and probe) every
    // backend even for `--backend cpu`; users running the binary do not have it.
    const env: Record<string, string | undefined> = { ...process.env, NUTSHELL_DEBUG: '', NUTSHELL_PROGRESS: '', ...options.env };
    delete env.NODE_PATH;
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** stderr lines that are ours (Dawn, the native WebGPU library, prints its own noise there). */
export function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('nutshell:'));
}

/** A stack trace line such as "    at foo (file.js:1:2)". */
export const STACK_LINE = /^\s+at\s/m;
