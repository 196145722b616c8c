import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { FormatError, InvalidArgumentError, describe } from '@nutshell/core';
import { canonicalJson } from '../provenance/canonical.js';
import { sha256Hex } from '../provenance/keys.js';

export interface AuditLogEntry {
  seq: number;
  time: string;
  /** What happened, e.g. "fairness-audit", "export-approved". */
  event: string;
  actor?: string;
  data: unknown;
  /** Hash of the previous entry ("0"×64 for the first). */
  prev: string;
  /** SHA-256 of the canonical JSON of every other member. */
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

function entryHash(e: Omit<AuditLogEntry, 'hash'>): string {
  return sha256Hex(canonicalJson({ seq: e.seq, time: e.time, event: e.event, actor: e.actor, data: e.data, prev: e.prev }));
}

export interface LogVerification {
  valid: boolean;
  entries: number;
  /** 1-based line of the first bad entry. */
  firstBadLine?: number;
  problem?: string;
  /** Hash of the last entry: publish or sign it to also detect truncation or a rewritten chain. */
  head: string;
}

/**
 * An append-only audit log: JSON lines, each entry carrying the hash of the one before, so editing,
 * reordering or deleting an entry breaks `verify()`. Backed by a file when given a path.
 */
export class AuditLog {
  private readonly items: AuditLogEntry[] = [];

  constructor(readonly path?: string) {
    if (path && existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const v = AuditLog.verify(text);
      if (!v.valid) throw new FormatError('audit-log', `${path} line ${v.firstBadLine}: ${v.problem}`);
      for (const line of text.split('\n')) if (line.trim()) this.items.push(JSON.parse(line) as AuditLogEntry);
    }
  }

  get entries(): readonly AuditLogEntry[] {
    return this.items;
  }

  get head(): string {
    return this.items.length ? this.items[this.items.length - 1]!.hash : GENESIS_HASH;
  }

  append(event: string, data: unknown = null, options: { actor?: string; time?: Date } = {}): AuditLogEntry {
    if (typeof event !== 'string' || !event) throw new InvalidArgumentError(`AuditLog.append: event must be a non-empty string, got ${describe(event)}`);
    canonicalJson(data); // refuses what cannot be hashed before anything is written
    const base = { seq: this.items.length, time: (options.time ?? new Date()).toISOString(), event, actor: options.actor, data, prev: this.head };
    const entry: AuditLogEntry = { ...base, hash: entryHash(base) };
    if (entry.actor === undefined) delete entry.actor;
    if (this.path) appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
    this.items.push(entry);
    return entry;
  }

  toJSONL(): string {
    return this.items.map((e) => `${JSON.stringify(e)}\n`).join('');
  }

  verify(): LogVerification {
    return AuditLog.verify(this.toJSONL());
  }

  /** Checks a JSON-lines log: every line parses, sequence numbers run 0,1,2,…, and every hash links up. */
  static verify(jsonl: string): LogVerification {
    let prev = GENESIS_HASH;
    let n = 0;
    const lines = jsonl.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line.trim()) continue;
      const bad = (problem: string): LogVerification => ({ valid: false, entries: n, firstBadLine: i + 1, problem, head: prev });
      let e: AuditLogEntry;
      try {
        e = JSON.parse(line) as AuditLogEntry;
      } catch {
        return bad('not valid JSON');
      }
      if (!e || typeof e !== 'object') return bad('not an object');
      if (e.seq !== n) return bad(`sequence number ${describe(e.seq)} where ${n} was expected (an entry was removed or reordered)`);
      if (e.prev !== prev) return bad('prev does not match the hash of the entry before');
      let h: string;
      try {
        h = entryHash(e);
      } catch {
        return bad('entry cannot be hashed');
      }
      if (h !== e.hash) return bad('hash does not match the entry (it was edited)');
      prev = e.hash;
      n++;
    }
    return { valid: true, entries: n, head: prev };
  }
}
