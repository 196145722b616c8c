import { InvalidArgumentError } from '@nutshell/core';

/**
 * Index of the first lone UTF-16 surrogate in `text`, or -1 when the string is well-formed
 * (i.e. it is the decoding of some valid UTF-8 byte sequence).
 */
export function findLoneSurrogate(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/**
 * Throws InvalidArgumentError when `text` holds a lone surrogate: such a string has no UTF-8
 * encoding, so no byte-level tokenizer can encode it losslessly (TextEncoder would silently put
 * U+FFFD in its place).
 */
export function assertWellFormed(text: string, where: string): void {
  if (typeof text !== 'string') {
    throw new InvalidArgumentError(`${where}: expected a string, got ${typeof text}`);
  }
  const at = findLoneSurrogate(text);
  if (at >= 0) {
    const code = text.charCodeAt(at).toString(16).toUpperCase();
    throw new InvalidArgumentError(
      `${where}: the text holds a lone surrogate U+${code} at index ${at}; only well-formed Unicode (valid UTF-8) can be tokenized`,
    );
  }
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a well-formed string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
