import { decompress } from 'fzstd';
import { ParquetLiteUnsupported } from './unsupported.ts';

/**
 * A zstd page (the codec lakelet writes its data files with) through fzstd, a small pure-JavaScript
 * decoder: Node 20's zlib has no zstd, and starting DuckDB only to inflate a page is what the
 * direct read path exists to avoid. Output into a buffer of the page's known size.
 */
export function zstdDecompress(data: Uint8Array, uncompressedSize: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = decompress(data, new Uint8Array(uncompressedSize));
  } catch (err) {
    throw new ParquetLiteUnsupported(`zstd page does not decode (${(err as Error).message})`);
  }
  if (out.length !== uncompressedSize) throw new ParquetLiteUnsupported('zstd page has the wrong size');
  return out;
}
