import { ParquetLiteUnsupported } from './unsupported.ts';

/**
 * Snappy block decompression (the raw format Parquet pages use, no framing): a varint length,
 * then literals and back-references. Node's zlib has no snappy, and checkpoints are small, so a
 * plain byte loop is enough.
 */
export function snappyDecompress(input: Uint8Array, expectedLength?: number): Uint8Array {
  let pos = 0;
  let length = 0;
  let shift = 1;
  for (;;) {
    if (pos >= input.length) throw new ParquetLiteUnsupported('snappy header ends early');
    const b = input[pos++];
    length += (b & 0x7f) * shift;
    if ((b & 0x80) === 0) break;
    shift *= 128;
    if (shift > 2 ** 35) throw new ParquetLiteUnsupported('snappy length is too long');
  }
  if (expectedLength !== undefined && length !== expectedLength) {
    throw new ParquetLiteUnsupported(`snappy block holds ${length} bytes, the page header says ${expectedLength}`);
  }
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (pos + extra > input.length) throw new ParquetLiteUnsupported('snappy literal ends early');
        len = 0;
        for (let i = 0; i < extra; i++) len += input[pos + i] * 2 ** (8 * i);
        pos += extra;
      }
      len += 1;
      if (pos + len > input.length || o + len > length) throw new ParquetLiteUnsupported('snappy literal overruns');
      // Short literals by hand: a subarray + set per literal costs more than the bytes.
      if (len < 8) for (let i = 0; i < len; i++) out[o + i] = input[pos + i];
      else out.set(input.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > input.length) throw new ParquetLiteUnsupported('snappy copy ends early');
      len = 4 + ((tag >> 2) & 7);
      offset = ((tag >> 5) << 8) | input[pos++];
    } else if (kind === 2) {
      if (pos + 2 > input.length) throw new ParquetLiteUnsupported('snappy copy ends early');
      len = (tag >> 2) + 1;
      offset = input[pos] | (input[pos + 1] << 8);
      pos += 2;
    } else {
      if (pos + 4 > input.length) throw new ParquetLiteUnsupported('snappy copy ends early');
      len = (tag >> 2) + 1;
      offset = (input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16)) + input[pos + 3] * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new ParquetLiteUnsupported('snappy copy points outside the output');
    // Short or overlapping (a run) copies byte by byte; longer ones natively.
    if (offset < len) for (let i = 0, from = o - offset; i < len; i++) out[o + i] = out[from + i];
    else out.copyWithin(o, o - offset, o - offset + len);
    o += len;
  }
  if (o !== length) throw new ParquetLiteUnsupported(`snappy block decoded to ${o} of ${length} bytes`);
  return out;
}
