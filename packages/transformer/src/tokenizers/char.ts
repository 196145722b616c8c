import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { SpecialTokenMatcher } from './special-tokens.js';
import type { DecodeOptions, EncodeOptions, TokenInfo, Tokenizer } from './types.js';
import { assertWellFormed } from './unicode.js';

export interface CharTokenizerOptions {
  /** The characters (Unicode code points, so an emoji is one character), id = position. */
  chars: readonly string[];
  /** Special tokens, given the ids after the characters. */
  specialTokens?: readonly string[];
  /** A special token to use for characters not in `chars`; without one, they are an error. */
  unkToken?: string;
}

/**
 * One token per Unicode code point, as nanoGPT's Shakespeare-char model: `fromText` gives each
 * distinct character of a corpus an id in code-point order (tiny Shakespeare → 65 ids).
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly chars: readonly string[];
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly unkToken: string | undefined;
  private readonly ids = new Map<string, number>();
  private readonly matcher: SpecialTokenMatcher;

  constructor(options: CharTokenizerOptions) {
    const chars = [...(options.chars ?? [])];
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1) throw new InvalidArgumentError(`CharTokenizer: chars[${i}] must be one Unicode character, got ${JSON.stringify(c)}`);
      assertWellFormed(c, 'CharTokenizer');
      if (this.ids.has(c)) throw new InvalidArgumentError(`CharTokenizer: character ${JSON.stringify(c)} is listed twice`);
      this.ids.set(c, i);
    });
    this.chars = chars;
    const specials = new Map<string, number>();
    for (const s of options.specialTokens ?? []) {
      if (typeof s !== 'string' || !s.length || specials.has(s) || this.ids.has(s)) throw new InvalidArgumentError(`CharTokenizer: special tokens must be distinct non-empty strings that are not characters of the vocabulary, got ${JSON.stringify(s)}`);
      specials.set(s, chars.length + specials.size);
    }
    if (options.unkToken !== undefined && !specials.has(options.unkToken)) throw new InvalidArgumentError(`CharTokenizer: unkToken ${JSON.stringify(options.unkToken)} must be one of the special tokens`);
    this.specialTokens = specials;
    this.unkToken = options.unkToken;
    this.matcher = new SpecialTokenMatcher([...specials.keys()]);
  }

  /** Every distinct character of the text, in code-point order. */
  static fromText(text: string, options: Omit<CharTokenizerOptions, 'chars'> = {}): CharTokenizer {
    assertWellFormed(text, 'CharTokenizer.fromText');
    const chars = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer({ ...options, chars });
  }

  /** Reads what toJSON wrote. */
  static fromJSON(json: unknown): CharTokenizer {
    const j = json as { type?: unknown; chars?: unknown; specialTokens?: unknown; unkToken?: unknown };
    if (!j || j.type !== 'char' || !Array.isArray(j.chars)) throw new FormatError('char tokenizer json', 'expected {"type":"char","chars":[…]}');
    if (j.specialTokens !== undefined && !Array.isArray(j.specialTokens)) throw new FormatError('char tokenizer json', '"specialTokens" must be an array');
    return new CharTokenizer({ chars: j.chars as string[], specialTokens: j.specialTokens as string[] | undefined, unkToken: j.unkToken as string | undefined });
  }

  toJSON(): { type: 'char'; chars: string[]; specialTokens: string[]; unkToken?: string } {
    return { type: 'char', chars: [...this.chars], specialTokens: [...this.specialTokens.keys()], ...(this.unkToken !== undefined ? { unkToken: this.unkToken } : {}) };
  }

  get vocabSize(): number {
    return this.chars.length + this.specialTokens.size;
  }

  idToToken(id: number): string | undefined {
    if (id >= 0 && id < this.chars.length) return this.chars[id];
    for (const [t, i] of this.specialTokens) if (i === id) return t;
    return undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token) ?? this.specialTokens.get(token);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    assertWellFormed(text, 'encode');
    const allowed = this.matcher.allowedSet(options.allowedSpecial, 'encode');
    const out: number[] = [];
    const unk = this.unkToken === undefined ? undefined : this.specialTokens.get(this.unkToken);
    for (const seg of this.matcher.split(text, allowed)) {
      if (seg.special) {
        out.push(this.specialTokens.get(seg.text)!);
        continue;
      }
      for (const ch of seg.text) {
        const id = this.ids.get(ch) ?? unk;
        if (id === undefined) {
          throw new InvalidArgumentError(`encode: character ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) is not in the vocabulary of ${this.chars.length} characters and there is no unkToken`);
        }
        out.push(id);
      }
    }
    return out;
  }

  tokenize(text: string, options?: EncodeOptions): TokenInfo[] {
    return this.encode(text, options).map((id) => ({ id, token: this.idToToken(id)! }));
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let s = '';
    ids.forEach((id, k) => {
      if (Number.isInteger(id) && id >= 0 && id < this.chars.length) {
        s += this.chars[id];
        return;
      }
      const tok = Number.isInteger(id) ? this.idToToken(id) : undefined;
      if (tok === undefined) throw new InvalidArgumentError(`decode: id ${String(id)} at position ${k} is not in the vocabulary (ids are integers in [0, ${this.vocabSize}))`);
      if (!options.skipSpecialTokens) s += tok;
    });
    return s;
  }
}
