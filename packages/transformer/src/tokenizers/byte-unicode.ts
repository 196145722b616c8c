/**
 * GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters, so that
 * byte-level tokens can be written as strings in vocab.json / merges.txt: bytes that are printable
 * Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves, the other 68 bytes map, in byte order,
 * to U+0100, U+0101, … (so space 0x20 becomes 'Ġ' U+0120 and newline 0x0A becomes 'Ċ' U+010A).
 */
function build(): { order: number[]; byteToChar: string[]; charToByte: Map<string, number> } {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const isPrintable = new Set(printable);
  const byteToChar: string[] = new Array(256);
  const order = [...printable];
  for (const b of printable) byteToChar[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (isPrintable.has(b)) continue;
    byteToChar[b] = String.fromCharCode(256 + next++);
    order.push(b);
  }
  const charToByte = new Map<string, number>();
  for (let b = 0; b < 256; b++) charToByte.set(byteToChar[b]!, b);
  return { order, byteToChar, charToByte };
}

const table = build();

/** `BYTE_TO_UNICODE[b]` is the one-character string GPT-2 writes for byte b. */
export const BYTE_TO_UNICODE: readonly string[] = table.byteToChar;

/** Inverse of BYTE_TO_UNICODE. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = table.charToByte;

/**
 * The 256 byte values in GPT-2's id order: GPT-2's vocabulary gives id i to the byte
 * `GPT2_BYTE_ORDER[i]` (printable bytes first, then the remapped ones).
 */
export const GPT2_BYTE_ORDER: readonly number[] = table.order;

/** Writes bytes as GPT-2's byte-level string. */
export function bytesToUnicode(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]!];
  return s;
}

/** Reads a GPT-2 byte-level string back into bytes; returns undefined if a character is not one of the 256. */
export function unicodeToBytes(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const b = UNICODE_TO_BYTE.get(text[i]!);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}
