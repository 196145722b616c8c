import type { FileFormat, Kit } from '@nutshell/core';
import { InvalidArgumentError } from '@nutshell/core';

/** Bytes handed to `sniff`: enough for any magic number or header prefix. */
const HEAD_BYTES = 4096;
const DEFAULT_FORMAT = 'safetensors';

/**
 * Which registered format reads `bytes`: the first whose `sniff` recognizes the content, else the
 * one claiming the file's extension, else safetensors (so a damaged file still gets an error that
 * says what is wrong with it, rather than only "unknown format").
 */
export function chooseFormat(kit: Kit, file: string, bytes: Uint8Array): FileFormat {
  const formats = kit.list('formats').map((name) => kit.get('formats', name));
  const head = bytes.subarray(0, HEAD_BYTES);
  const sniffed = formats.find((f) => {
    try {
      return f.sniff(head);
    } catch {
      return false;
    }
  });
  if (sniffed) return sniffed;
  const lower = file.toLowerCase();
  const byExtension = formats.find((f) => f.extensions.some((ext) => lower.endsWith(ext.toLowerCase())));
  if (byExtension) return byExtension;
  if (kit.registries.formats.has(DEFAULT_FORMAT)) return kit.get('formats', DEFAULT_FORMAT);
  throw new InvalidArgumentError(`${file}: not a format nutshell knows (known: ${kit.list('formats').join(', ') || 'none'})`);
}
