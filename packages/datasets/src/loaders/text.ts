import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { RecordDataset } from '../record-dataset.js';

export interface TextDocument {
  /** Path relative to the folder, with "/" separators. */
  path: string;
  /** First folder of `path` (torchvision ImageFolder style), or "" for files at the top. */
  label: string;
  text: string;
}

export interface FolderOptions {
  /** File extensions to include, with the dot (default [".txt"]); case-insensitive. */
  extensions?: readonly string[];
  /** Descend into subfolders (default true). */
  recursive?: boolean;
}

/** Files under `dir` matching the extensions, sorted by relative path (so order is reproducible). */
export async function listFiles(dir: string, options: FolderOptions = {}): Promise<string[]> {
  const exts = new Set((options.extensions ?? ['.txt']).map((e) => e.toLowerCase()));
  const recursive = options.recursive ?? true;
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) {
        if (recursive) await walk(full);
      } else if (entry.isFile() && exts.has(extname(entry.name).toLowerCase())) {
        out.push(full);
      }
    }
  };
  await walk(dir);
  return out.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : 1));
}

/** A whole UTF-8 text file (for files larger than memory use `readLines` / `readTextChunks`). */
export async function loadTextFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** A file or a folder of text files as documents, sorted by path. */
export async function loadTextFolder(path: string, options: FolderOptions = {}): Promise<RecordDataset<TextDocument>> {
  if ((await stat(path)).isFile()) {
    return new RecordDataset([{ path: path.split(sep).pop()!, label: '', text: await readFile(path, 'utf8') }]);
  }
  const files = await listFiles(path, options);
  const docs = await Promise.all(
    files.map(async (f) => {
      const rel = relative(path, f).split(sep).join('/');
      const slash = rel.indexOf('/');
      return { path: rel, label: slash < 0 ? '' : rel.slice(0, slash), text: await readFile(f, 'utf8') };
    }),
  );
  return new RecordDataset(docs);
}
