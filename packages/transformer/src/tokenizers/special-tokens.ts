import { InvalidArgumentError } from '@nutshell/core';

/** Which special tokens `encode` treats as atomic tokens; the others are encoded as plain text. */
export type AllowedSpecial = 'all' | 'none' | readonly string[];

/** A piece of input: plain text, or a special token to emit as one id. */
export type Segment = { text: string; special: false } | { text: string; special: true };

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Finds special tokens in text (longest first where two overlap at the same place). */
export class SpecialTokenMatcher {
  private readonly regex: RegExp | undefined;
  constructor(readonly tokens: readonly string[]) {
    const sorted = [...new Set(tokens)].filter((t) => t.length > 0).sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.regex = sorted.length ? new RegExp(sorted.map(escape).join('|'), 'g') : undefined;
  }

  /** Resolves an AllowedSpecial option against the known special tokens. */
  allowedSet(allowed: AllowedSpecial | undefined, where: string): ReadonlySet<string> {
    if (allowed === undefined || allowed === 'all') return new Set(this.tokens);
    if (allowed === 'none') return new Set();
    if (!Array.isArray(allowed)) throw new InvalidArgumentError(`${where}: allowedSpecial must be 'all', 'none' or a list of special tokens`);
    for (const t of allowed) {
      if (!this.tokens.includes(t)) {
        throw new InvalidArgumentError(`${where}: ${JSON.stringify(t)} is not a special token of this tokenizer; special tokens: ${this.tokens.map((x) => JSON.stringify(x)).join(', ') || '(none)'}`);
      }
    }
    return new Set(allowed);
  }

  /** Splits text into plain and special segments; specials not in `allowed` stay plain text. */
  split(text: string, allowed: ReadonlySet<string>): Segment[] {
    if (!this.regex || allowed.size === 0) return text.length ? [{ text, special: false }] : [];
    const out: Segment[] = [];
    let start = 0;
    let plainFrom = 0;
    this.regex.lastIndex = 0;
    for (;;) {
      this.regex.lastIndex = start;
      const m = this.regex.exec(text);
      if (!m) break;
      if (allowed.has(m[0])) {
        if (m.index > plainFrom) out.push({ text: text.slice(plainFrom, m.index), special: false });
        out.push({ text: m[0], special: true });
        plainFrom = m.index + m[0].length;
        start = plainFrom;
      } else {
        // A disallowed special may overlap an allowed one that starts one character later.
        start = m.index + 1;
      }
    }
    if (plainFrom < text.length) out.push({ text: text.slice(plainFrom), special: false });
    return out;
  }
}
