import { FileRejectedError } from './errors.ts';
import { positionAt } from './json-text.ts';

/**
 * Decodes a landed text file as UTF-8, refusing what cannot be loaded faithfully: an empty file,
 * UTF-16/UTF-32 (by byte-order mark or NUL bytes), and bytes that are not valid UTF-8 (latin-1,
 * cp1252 …), reported with the line and column of the first bad byte.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new FileRejectedError('empty', 'the file is empty (0 bytes)');
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new FileRejectedError('encoding', 'the file is UTF-16 encoded (byte-order mark)', undefined, 'convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const text = new TextDecoder('utf-8').decode(bytes.subarray(0, nul));
    throw new FileRejectedError('encoding', 'the file contains NUL bytes: it is binary or UTF-16/UTF-32 text', positionAt(text, text.length), 'convert it to UTF-8');
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (text.trim() === '' || text === '\ufeff') throw new FileRejectedError('empty', 'the file has no data (only whitespace)');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (err) {
    if (err instanceof FileRejectedError) throw err;
    const at = firstInvalidUtf8(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, at));
    const hex = Array.from(bytes.subarray(at, at + 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new FileRejectedError('encoding', `byte 0x${hex.split(' ')[0]} at offset ${at} is not valid UTF-8 (bytes ${hex})`, positionAt(before, before.length), 'the file looks like latin-1/cp1252; convert it to UTF-8, e.g. iconv -f latin1 -t UTF-8');
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) n = 2;
    else if (c >= 0xf0 && c <= 0xf4) n = 3;
    else return i;
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return b.length;
}
