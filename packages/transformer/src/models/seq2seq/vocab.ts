import { InvalidArgumentError, describe, type TextTokenizer } from '@nutshell/core';

export interface Seq2seqVocabJson {
  kind: 'seq2seq-char';
  chars: string[];
  extraIds: number;
}

/**
 * A character vocabulary laid out like T5's: pad = 0, eos = 1, unk = 2, then the characters, and
 * `extraIds` sentinels at the top (`<extra_id_i>` = vocabSize − 1 − i, as T5's span corruption
 * expects). Small enough for toy text-to-text tasks; implements core's TextTokenizer.
 */
export class Seq2seqVocab implements TextTokenizer {
  readonly padTokenId = 0;
  readonly eosTokenId = 1;
  readonly unkTokenId = 2;
  readonly vocabSize: number;
  private readonly ids = new Map<string, number>();
  constructor(readonly chars: readonly string[], readonly extraIds = 20) {
    if (!Number.isInteger(extraIds) || extraIds < 0) throw new InvalidArgumentError(`Seq2seqVocab: extraIds must be a non-negative integer, got ${describe(extraIds)}`);
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1) throw new InvalidArgumentError(`Seq2seqVocab: each entry must be one character, got ${describe(c)}`);
      if (this.ids.has(c)) throw new InvalidArgumentError(`Seq2seqVocab: duplicate character ${JSON.stringify(c)}`);
      this.ids.set(c, 3 + i);
    });
    this.vocabSize = 3 + chars.length + extraIds;
  }
  /** The characters of `text` (sorted by code point) plus `extraIds` sentinels. */
  static fromText(text: string, extraIds = 20): Seq2seqVocab {
    return new Seq2seqVocab([...new Set(Array.from(text))].sort(), extraIds);
  }
  static fromJSON(json: Seq2seqVocabJson): Seq2seqVocab {
    if (!json || json.kind !== 'seq2seq-char' || !Array.isArray(json.chars)) throw new InvalidArgumentError(`Seq2seqVocab.fromJSON: not a seq2seq-char vocabulary: ${describe(json)}`);
    return new Seq2seqVocab(json.chars, json.extraIds);
  }
  toJSON(): Seq2seqVocabJson {
    return { kind: 'seq2seq-char', chars: [...this.chars], extraIds: this.extraIds };
  }
  /** Id of `<extra_id_i>`. */
  sentinel(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.extraIds) throw new InvalidArgumentError(`Seq2seqVocab: sentinel index must be in [0, ${this.extraIds}), got ${describe(i)}`);
    return this.vocabSize - 1 - i;
  }
  isSentinel(id: number): boolean {
    return id >= this.vocabSize - this.extraIds && id < this.vocabSize;
  }
  /** Ids of the text's characters (unknown ones → unk); `eos: true` appends eos. */
  encode(text: string, options: { eos?: boolean } = {}): number[] {
    if (typeof text !== 'string') throw new InvalidArgumentError(`Seq2seqVocab.encode: expected a string, got ${describe(text)}`);
    const out = Array.from(text, (c) => this.ids.get(c) ?? this.unkTokenId);
    if (options.eos) out.push(this.eosTokenId);
    return out;
  }
  /** Text of the ids up to the first eos; pad is skipped, sentinels print as `<extra_id_i>`. */
  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) {
      if (id === this.eosTokenId) break;
      if (id === this.padTokenId) continue;
      if (id === this.unkTokenId) s += '<unk>';
      else if (this.isSentinel(id)) s += `<extra_id_${this.vocabSize - 1 - id}>`;
      else if (id >= 3 && id < 3 + this.chars.length) s += this.chars[id - 3];
      else throw new InvalidArgumentError(`Seq2seqVocab.decode: id ${describe(id)} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    return s;
  }
}
