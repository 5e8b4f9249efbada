import { ParquetLiteUnsupported } from './unsupported.ts';

/**
 * Parquet's RLE / bit-packing hybrid (levels, dictionary indices, RLE booleans): runs of
 * `header >> 1` repeats of one value, or `header >> 1` groups of eight bit-packed values, LSB first.
 * Decodes `count` values from `buf[pos..end)` into `out` at `at`; returns the position after them.
 * With `tally`, counts the decoded values by value: `tally[v]` grows by the number of values v
 * (values beyond its length are not counted). Levels come in long runs, so a run adds its length
 * at once where a loop over the decoded levels afterwards (as many as a 10,000-row checkpoint has
 * rows, for each of its ~50 columns) costs more than the decode itself in code not yet optimised.
 */
export function decodeRleHybrid(buf: Uint8Array, pos: number, end: number, bitWidth: number, count: number, out: Int32Array, at = 0, tally?: Int32Array): number {
  if (bitWidth === 0) {
    out.fill(0, at, at + count);
    if (tally && tally.length > 0) tally[0] += count;
    return pos;
  }
  if (bitWidth > 32) throw new ParquetLiteUnsupported(`bit width ${bitWidth}`);
  const byteWidth = (bitWidth + 7) >> 3;
  let done = 0;
  while (done < count) {
    let header = 0;
    let scale = 1;
    for (;;) {
      if (pos >= end) throw new ParquetLiteUnsupported('RLE data ends early');
      const b = buf[pos++];
      header += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 128;
    }
    if (header % 2 === 0) {
      const run = header / 2;
      if (pos + byteWidth > end) throw new ParquetLiteUnsupported('RLE run ends early');
      let value = 0;
      for (let i = 0; i < byteWidth; i++) value += buf[pos + i] * 2 ** (8 * i);
      pos += byteWidth;
      const n = Math.min(run, count - done);
      out.fill(value, at + done, at + done + n);
      if (tally && value < tally.length) tally[value] += n;
      done += n;
    } else {
      const groups = (header - 1) / 2;
      const bytes = groups * bitWidth;
      if (pos + bytes > end) throw new ParquetLiteUnsupported('bit-packed run ends early');
      const n = Math.min(groups * 8, count - done);
      const mask = bitWidth === 32 ? 0xffffffff : (1 << bitWidth) - 1;
      let bitPos = pos * 8;
      for (let i = 0; i < n; i++) {
        // Read bitWidth bits starting at bitPos (little-endian bit order across bytes).
        let byte = bitPos >> 3;
        const shift = bitPos & 7;
        let acc = buf[byte] >>> shift;
        let have = 8 - shift;
        while (have < bitWidth) {
          acc += buf[++byte] * 2 ** have;
          have += 8;
        }
        out[at + done + i] = bitWidth === 32 ? acc % 4294967296 : acc & mask;
        bitPos += bitWidth;
      }
      if (tally) {
        for (let i = 0; i < n; i++) {
          const v = out[at + done + i];
          if (v < tally.length) tally[v]++;
        }
      }
      pos += bytes;
      done += n;
    }
  }
  return pos;
}

/** Bits needed to store levels up to `max`. */
export function bitWidthFor(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}
