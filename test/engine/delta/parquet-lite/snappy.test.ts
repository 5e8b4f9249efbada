import { describe, expect, it } from 'vitest';
import { snappyDecompress } from '../../../../src/engine/delta/parquet-lite/snappy.ts';
import { ParquetLiteUnsupported } from '../../../../src/engine/delta/parquet-lite/unsupported.ts';

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('snappy block decompression', () => {
  it('expands literals and back-references, including a copy that overlaps its own output', () => {
    // 20 bytes: literal "abc", then a 2-byte-offset copy of 17 bytes from 3 back (a run).
    const block = Uint8Array.from([20, 0x08, 0x61, 0x62, 0x63, (16 << 2) | 2, 3, 0]);
    expect(text(snappyDecompress(block, 20))).toBe('abcabcabcabcabcabcab');
    // A 1-byte-offset copy (kind 1: length 4 + 3 bits, offset 11 bits), after a literal.
    const short = Uint8Array.from([9, 0x08, 0x78, 0x79, 0x7a, ((6 - 4) << 2) | 1, 2]);
    expect(text(snappyDecompress(short))).toBe('xyzyzyzyz');
  });

  it('rejects a block that points before its start, overruns, or disagrees with the page size', () => {
    expect(() => snappyDecompress(Uint8Array.from([5, (4 << 2) | 2, 9, 0]))).toThrow(ParquetLiteUnsupported);
    expect(() => snappyDecompress(Uint8Array.from([2, 0x08, 0x61, 0x62, 0x63]))).toThrow(ParquetLiteUnsupported);
    expect(() => snappyDecompress(Uint8Array.from([3, 0x08, 0x61, 0x62, 0x63]), 4)).toThrow(ParquetLiteUnsupported);
    expect(() => snappyDecompress(Uint8Array.from([4, 0x08, 0x61, 0x62, 0x63]))).toThrow(ParquetLiteUnsupported);
  });
});
