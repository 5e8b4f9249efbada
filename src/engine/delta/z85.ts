/**
 * Z85 (ZeroMQ RFC 32), the Base85 variant Delta uses for deletion vector descriptors because its
 * alphabet needs no JSON escaping. Every 4 bytes (a big-endian uint32) become 5 characters.
 */

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Character code -> digit value, -1 for characters outside the alphabet. */
const DIGITS: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Thrown for text that is not valid Z85; callers wrap it in an error naming the table/version. */
export class Z85Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Z85Error';
  }
}

/**
 * Encodes bytes as Z85. Z85 itself only encodes multiples of 4 bytes; like Delta's writer we pad
 * the tail with zero bytes, so the caller must remember the true length (a DV descriptor's
 * `sizeInBytes`) and pass it back to `z85Decode`.
 */
export function z85Encode(bytes: Uint8Array): string {
  const padded = bytes.length % 4 === 0 ? bytes : new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  if (padded !== bytes) padded.set(bytes);
  const view = new DataView(padded.buffer, padded.byteOffset, padded.byteLength);
  const chars = new Array<string>(padded.length / 4);
  for (let i = 0; i < padded.length; i += 4) {
    let value = view.getUint32(i, false);
    let block = '';
    // Most significant digit first: build from the least significant one backwards.
    for (let d = 0; d < 5; d++) {
      block = ALPHABET[value % 85] + block;
      value = Math.floor(value / 85);
    }
    chars[i / 4] = block;
  }
  return chars.join('');
}

/**
 * Decodes Z85 text. The text length must be a multiple of 5. `byteLength`, when given, trims the
 * zero padding `z85Encode` added (it must not exceed the decoded length).
 */
export function z85Decode(text: string, byteLength?: number): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new Z85Error(`Z85 text length ${text.length} is not a multiple of 5`);
  }
  const out = new Uint8Array((text.length / 5) * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let d = 0; d < 5; d++) {
      const code = text.charCodeAt(i + d);
      const digit = code < 128 ? DIGITS[code] : -1;
      if (digit < 0) throw new Z85Error(`invalid Z85 character ${JSON.stringify(text[i + d])} at ${i + d}`);
      value = value * 85 + digit;
    }
    // 5 digits can express up to 85^5 - 1 > 2^32 - 1; such blocks are not valid Z85.
    if (value > 0xffffffff) throw new Z85Error(`Z85 block at ${i} overflows 32 bits`);
    view.setUint32((i / 5) * 4, value, false);
  }
  if (byteLength === undefined) return out;
  if (!Number.isInteger(byteLength) || byteLength < 0 || byteLength > out.length) {
    throw new Z85Error(`expected ${byteLength} bytes but the Z85 text holds only ${out.length}`);
  }
  return out.subarray(0, byteLength);
}

/** The canonical text of a 16-byte UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase). */
export function uuidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Z85Error(`a UUID has 16 bytes, got ${bytes.length}`);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The 16 bytes of a UUID in canonical text form (the inverse of `uuidToString`). */
export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Z85Error(`not a UUID: ${JSON.stringify(uuid)}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
