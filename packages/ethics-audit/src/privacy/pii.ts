import { InvalidArgumentError, describe } from '@nutshell/core';

export type PiiType = 'email' | 'phone' | 'credit_card' | 'iban' | 'ipv4' | 'ipv6';

export interface PiiMatch {
  type: PiiType;
  value: string;
  /** UTF-16 offsets into the scanned text. */
  start: number;
  end: number;
}

export const PII_TYPES: readonly PiiType[] = Object.freeze(['email', 'phone', 'credit_card', 'iban', 'ipv4', 'ipv6']);

/** Luhn checksum (payment card numbers). */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** IBAN check digits (ISO 13616: move the first four characters to the end, letters → 10..35, mod 97 = 1). */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let mod = 0;
  for (const ch of r) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) mod = (mod * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return mod === 1;
}

// Patterns are anchored on non-word boundaries; validators remove look-alikes (dates, versions, ids).
const PATTERNS: { type: PiiType; re: RegExp; valid?: (m: string) => boolean; claimInvalid?: boolean }[] = [
  { type: 'email', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  { type: 'iban', re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g, valid: ibanValid, claimInvalid: true },
  { type: 'credit_card', re: /\b\d(?:[ -]?\d){12,18}\b/g, valid: (m) => luhnValid(m.replace(/[ -]/g, '')) },
  { type: 'ipv4', re: /\b(?:\d{1,3}\.){3}\d{1,3}\b/g, valid: (m) => m.split('.').every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0'))) },
  { type: 'ipv6', re: /(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])|(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?(?![\w:])/g, valid: (m) => m.includes(':') && (m.match(/:/g) ?? []).length >= 2 },
  // International (+CC …) or NANP-style numbers with separators; 7–15 digits in all (E.164).
  { type: 'phone', re: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w)/g, valid: (m) => { const d = m.replace(/\D/g, ''); return d.length >= 7 && d.length <= 15 && (m.startsWith('+') || m.startsWith('(') || /[ .-]/.test(m)) && !/^\d{4}-\d{2}-\d{2}$/.test(m) && !/^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$/.test(m); } },
];

/**
 * Finds e-mail addresses, phone numbers, payment card numbers (Luhn-checked), IBANs (mod-97-checked),
 * IPv4 and IPv6 addresses in text. Overlaps go to the earlier type in that order (a card number is
 * not also reported as a phone number). Regex-based: expect misses and some false positives.
 */
export function scanPii(text: string, options: { types?: readonly PiiType[] } = {}): PiiMatch[] {
  if (typeof text !== 'string') throw new InvalidArgumentError(`scanPii: expected a string, got ${describe(text)}`);
  const types = new Set(options.types ?? PII_TYPES);
  for (const t of types) if (!PII_TYPES.includes(t)) throw new InvalidArgumentError(`scanPii: unknown PII type ${describe(t)}; known: ${PII_TYPES.join(', ')}`);
  const found: PiiMatch[] = [];
  const taken: [number, number][] = [];
  const free = (s: number, e: number) => taken.every(([a, b]) => e <= a || s >= b);
  const order: PiiType[] = ['email', 'iban', 'credit_card', 'ipv6', 'ipv4', 'phone'];
  for (const type of order) {
    if (!types.has(type)) continue;
    const p = PATTERNS.find((x) => x.type === type)!;
    for (const m of text.matchAll(p.re)) {
      const start = m.index!, end = start + m[0].length;
      if (!free(start, end)) continue;
      if (p.valid && !p.valid(m[0])) {
        // An IBAN-shaped string with a bad checksum is still not a phone number.
        if (p.claimInvalid) taken.push([start, end]);
        continue;
      }
      found.push({ type, value: m[0], start, end });
      taken.push([start, end]);
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/** Replaces each PII match with `[TYPE]` (or a custom replacement). */
export function redactPii(text: string, options: { types?: readonly PiiType[]; replace?: (m: PiiMatch) => string } = {}): string {
  const ms = scanPii(text, options);
  let out = '', at = 0;
  for (const m of ms) {
    out += text.slice(at, m.start) + (options.replace ? options.replace(m) : `[${m.type.toUpperCase()}]`);
    at = m.end;
  }
  return out + text.slice(at);
}

export interface PiiSummary {
  documents: number;
  /** Documents with at least one match. */
  documentsWithPii: number;
  counts: Record<PiiType, number>;
  /** Up to `examples` matches with their document index. */
  examples: (PiiMatch & { document: number })[];
}

/** Scans many documents (dataset rows or generated samples) and summarises what was found. */
export function scanPiiCorpus(documents: Iterable<string>, options: { types?: readonly PiiType[]; examples?: number } = {}): PiiSummary {
  const counts = Object.fromEntries(PII_TYPES.map((t) => [t, 0])) as Record<PiiType, number>;
  const examples: PiiSummary['examples'] = [];
  let n = 0, withPii = 0;
  for (const doc of documents) {
    const ms = scanPii(doc, options);
    if (ms.length) withPii++;
    for (const m of ms) {
      counts[m.type]++;
      if (examples.length < (options.examples ?? 10)) examples.push({ ...m, document: n });
    }
    n++;
  }
  return { documents: n, documentsWithPii: withPii, counts, examples };
}
