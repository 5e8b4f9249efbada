import { gunzipSync } from 'node:zlib';
import { CompactReader, type ThriftStruct } from './thrift-compact.ts';
import { Type, type ColumnChunkMeta, type SchemaNode } from './footer.ts';
import { bitWidthFor, decodeRleHybrid } from './rle.ts';
import { snappyDecompress } from './snappy.ts';
import { zstdDecompress } from './zstd.ts';
import { ParquetLiteUnsupported } from './unsupported.ts';
import type { LazyStrings } from './lazy-strings.ts';

/** One leaf column of one row group, shredded: levels per entry, values for the defined entries. */
export interface ColumnData {
  /** Repetition / definition level per entry; undefined when the column's max level is 0. */
  rep: Int32Array | undefined;
  def: Int32Array | undefined;
  count: number;
  values: unknown[];
  /**
   * Entries whose repetition level is 0 (each starts a row): `count` when the column has no
   * repetition levels, and equal to `count` for a repeated column none of whose rows holds more
   * than one entry (a checkpoint's maps and lists, null or empty in nearly every row).
   */
  rowStarts: number;
  /** How many entries have each definition level (index: level); [count] when there are none. */
  defCounts: Int32Array;
  /** When the values are read on demand: value v is then index v of `lazy` (`values` stays empty). */
  lazy?: LazyStrings;
}

const CODEC_UNCOMPRESSED = 0;
const CODEC_SNAPPY = 1;
const CODEC_GZIP = 2;
const CODEC_ZSTD = 6;
const ENC_PLAIN = 0;
const ENC_PLAIN_DICTIONARY = 2;
const ENC_RLE = 3;
const ENC_RLE_DICTIONARY = 8;
const PAGE_DATA = 0;
const PAGE_INDEX = 1;
const PAGE_DICTIONARY = 2;
const PAGE_DATA_V2 = 3;

/**
 * How a leaf's PLAIN values are decoded: the checkpoint kinds (JSON values as DuckDB's to_json
 * renders them) plus raw kinds for data files (direct-read.ts interprets their annotations):
 * `int64-exact` a number while safe, else a bigint; `float` a float32 widened; `bytes` a view of a
 * BYTE_ARRAY, `fixed` of a FIXED_LEN_BYTE_ARRAY (leaf.typeLength bytes).
 */
export type ValueKind = 'boolean' | 'int32' | 'int64' | 'double' | 'string' | 'int64-exact' | 'float' | 'bytes' | 'fixed';

/** How a leaf's physical values become JSON values (as DuckDB's to_json renders them), or why not. */
function valueKind(leaf: SchemaNode): ValueKind {
  const where = `column ${leaf.path.join('.')}`;
  const logical = leaf.logicalType;
  const logicalId = logical ? Number(Object.keys(logical)[0]) : undefined;
  const converted = leaf.convertedType;
  switch (leaf.type) {
    case Type.BOOLEAN:
      if (converted === undefined && logical === undefined) return 'boolean';
      break;
    case Type.INT32:
    case Type.INT64: {
      // Plain signed integers only: dates, times, timestamps, decimals and unsigned types print differently.
      const intLogical = logicalId === 10 ? (logical![10] as ThriftStruct) : undefined;
      const signedInt = (converted === undefined || (converted >= 15 && converted <= 18)) && (logical === undefined || (intLogical !== undefined && intLogical[2] === true));
      if (signedInt) return leaf.type === Type.INT32 ? 'int32' : 'int64';
      break;
    }
    case Type.DOUBLE:
      if (converted === undefined && logical === undefined) return 'double';
      break;
    case Type.BYTE_ARRAY: {
      // UTF8 / ENUM / JSON annotations (converted 0, 4, 19; logical STRING 1, ENUM 4, JSON 12).
      const text = converted === 0 || converted === 4 || converted === 19 || logicalId === 1 || logicalId === 4 || logicalId === 12;
      if (text) return 'string';
      break;
    }
  }
  throw new ParquetLiteUnsupported(`${where}: physical type ${leaf.type} with converted type ${converted} is not decoded`);
}

function decompress(codec: number, data: Uint8Array, uncompressedSize: number): Uint8Array {
  switch (codec) {
    case CODEC_UNCOMPRESSED:
      return data;
    case CODEC_SNAPPY:
      return snappyDecompress(data, uncompressedSize);
    case CODEC_GZIP: {
      const out = gunzipSync(data);
      if (out.length !== uncompressedSize) throw new ParquetLiteUnsupported('gzip page has the wrong size');
      return out;
    }
    case CODEC_ZSTD:
      return zstdDecompress(data, uncompressedSize);
    default:
      throw new ParquetLiteUnsupported(`compression codec ${codec} is not decoded`);
  }
}

type NodeBuffer = Buffer & { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };

/** From this many values in a page, strings are cut from one decoded page string (below). */
const SLICED_STRINGS_FROM = 64;
const NON_ASCII = /[^\x00-\x7f]/g;

/**
 * `n` PLAIN strings of `b[pos..end)`, as slices of the page decoded once as Latin-1 (one character
 * per byte, so a value's byte range is its character range). V8 makes such slices views into the
 * page string instead of copies: a checkpoint's 10,000 `stats` strings then cost 10,000 small
 * objects rather than megabytes of young-generation copies (which garbage collection, run while
 * they are all still alive, copied again). A value holding a non-ASCII byte is decoded as UTF-8,
 * so every value is exactly what utf8Slice gives. The page string stays alive while any of its
 * values does, as the snapshot holding them would anyway.
 */
function decodeStringsSliced(b: NodeBuffer, view: DataView, pos: number, end: number, n: number, out: unknown[]): void {
  const text = b.latin1Slice(pos, end);
  // Positions (into text) of the non-ASCII bytes: UTF-8 sequences, or bytes of a length prefix.
  const high: number[] = [];
  NON_ASCII.lastIndex = 0;
  for (let m = NON_ASCII.exec(text); m !== null; m = NON_ASCII.exec(text)) high.push(m.index);
  let h = 0;
  let p = pos;
  const base = out.length;
  out.length = base + n;
  for (let i = 0; i < n; i++) {
    if (p + 4 > end) throw new ParquetLiteUnsupported('PLAIN values end early');
    const len = view.getUint32(p, true);
    p += 4;
    if (p + len > end) throw new ParquetLiteUnsupported('PLAIN values end early');
    const start = p - pos;
    while (h < high.length && high[h] < start) h++;
    out[base + i] = h < high.length && high[h] < start + len ? b.utf8Slice(p, p + len) : text.slice(start, start + len);
    p += len;
  }
}

/** Decodes `n` PLAIN values of the leaf's kind from `buf[pos..end)`. */
function decodePlain(kind: ValueKind, buf: Uint8Array, pos: number, end: number, n: number, out: unknown[], fixedLength = 0): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (bytes: number): void => {
    if (pos + bytes > end) throw new ParquetLiteUnsupported('PLAIN values end early');
  };
  // Values stored by index into room made once: pushing 10,000 values one by one (a checkpoint's
  // column) grows the array again and again, in code that is not optimised.
  // The bytes the values take at least (a length prefix each for byte arrays), checked before any
  // room is made: a damaged page's count must not size an array.
  const least = kind === 'boolean' ? Math.ceil(n / 8) : kind === 'int32' || kind === 'float' ? 4 * n : kind === 'fixed' ? fixedLength * n : kind === 'bytes' || kind === 'string' ? 4 * n : 8 * n;
  if (kind === 'fixed' && fixedLength <= 0) throw new ParquetLiteUnsupported('FIXED_LEN_BYTE_ARRAY without a length');
  need(least);
  const base = out.length;
  if (kind !== 'string' || n < SLICED_STRINGS_FROM) out.length = base + n;
  switch (kind) {
    case 'boolean':
      need(Math.ceil(n / 8));
      for (let i = 0; i < n; i++) out[base + i] = ((buf[pos + (i >> 3)] >> (i & 7)) & 1) === 1;
      return;
    case 'int32':
      need(4 * n);
      for (let i = 0; i < n; i++, pos += 4) out[base + i] = view.getInt32(pos, true);
      return;
    case 'int64':
      need(8 * n);
      for (let i = 0; i < n; i++, pos += 8) out[base + i] = view.getInt32(pos + 4, true) * 4294967296 + view.getUint32(pos, true);
      return;
    case 'double':
      need(8 * n);
      for (let i = 0; i < n; i++, pos += 8) out[base + i] = view.getFloat64(pos, true);
      return;
    case 'int64-exact':
      need(8 * n);
      for (let i = 0; i < n; i++, pos += 8) {
        const hi = view.getInt32(pos + 4, true);
        // |value| < 2^53 exactly when the high word is within ±2^21: a number; beyond, a bigint.
        out[base + i] = hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + view.getUint32(pos, true) : view.getBigInt64(pos, true);
      }
      return;
    case 'float':
      need(4 * n);
      for (let i = 0; i < n; i++, pos += 4) out[base + i] = view.getFloat32(pos, true);
      return;
    case 'fixed':
      if (fixedLength <= 0) throw new ParquetLiteUnsupported('FIXED_LEN_BYTE_ARRAY without a length');
      need(fixedLength * n);
      for (let i = 0; i < n; i++, pos += fixedLength) out[base + i] = buf.subarray(pos, pos + fixedLength);
      return;
    case 'bytes':
      for (let i = 0; i < n; i++) {
        need(4);
        const len = view.getUint32(pos, true);
        pos += 4;
        need(len);
        out[base + i] = buf.subarray(pos, pos + len);
        pos += len;
      }
      return;
    case 'string': {
      // utf8Slice directly: Buffer#toString's argument checks cost as much as decoding a short
      // string, and a 10,000-file checkpoint holds two strings per file (path, stats).
      const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as NodeBuffer;
      if (n >= SLICED_STRINGS_FROM) {
        decodeStringsSliced(b, view, pos, end, n, out);
        return;
      }
      for (let i = 0; i < n; i++) {
        need(4);
        const len = view.getUint32(pos, true);
        pos += 4;
        need(len);
        out[base + i] = b.utf8Slice(pos, pos + len);
        pos += len;
      }
      return;
    }
  }
}

/**
 * Reads every page of one column chunk of `file`, its values decoded as `kind` (default: as JSON
 * values). With `lazy`, a string column's PLAIN values are left in their pages and added to it
 * instead (a dictionary-encoded chunk is decoded as usual then).
 */
export function readColumnChunk(file: Uint8Array, chunk: ColumnChunkMeta, leaf: SchemaNode, kind: ValueKind = valueKind(leaf), lazy?: LazyStrings): ColumnData {
  if (lazy && (kind !== 'string' || lazy.length > 0)) lazy = undefined;
  const fixed = leaf.typeLength ?? 0;
  if (chunk.type !== leaf.type) throw new ParquetLiteUnsupported(`column ${leaf.path.join('.')}: chunk type differs from the schema`);
  const maxRep = leaf.repLevel;
  const maxDef = leaf.defLevel;
  const total = chunk.numValues;
  const rep = maxRep > 0 ? new Int32Array(total) : undefined;
  const def = maxDef > 0 ? new Int32Array(total) : undefined;
  const values: unknown[] = [];
  let dictionary: unknown[] | undefined;
  let done = 0;
  let pos = chunk.start;
  const end = chunk.start + chunk.length;
  const scratch = new Int32Array(0);
  let indices = scratch;
  // Counted while the levels are decoded (a run at a time), not by a loop over them afterwards.
  const defCounts = new Int32Array(maxDef + 1);
  const repCounts = new Int32Array(maxRep + 1);
  if (!def) defCounts[0] = total;
  let definedBefore = 0;

  while (done < total) {
    if (pos >= end) throw new ParquetLiteUnsupported(`column ${leaf.path.join('.')}: pages end before all values`);
    const reader = new CompactReader(file, pos);
    const header = reader.readStruct();
    const pageType = header[1] as number;
    const uncompressedSize = header[2] as number;
    const compressedSize = header[3] as number;
    const bodyStart = reader.pos;
    if (typeof compressedSize !== 'number' || bodyStart + compressedSize > end) throw new ParquetLiteUnsupported('page overruns its column chunk');
    const body = file.subarray(bodyStart, bodyStart + compressedSize);
    pos = bodyStart + compressedSize;

    if (pageType === PAGE_INDEX) continue;
    if (pageType === PAGE_DICTIONARY) {
      // Dictionary values are shared by many rows: decoded once, as usual.
      if (lazy) return readColumnChunk(file, chunk, leaf, kind);
      const dh = header[7] as ThriftStruct;
      const enc = dh[2] as number;
      if (enc !== ENC_PLAIN && enc !== ENC_PLAIN_DICTIONARY) throw new ParquetLiteUnsupported(`dictionary encoding ${enc}`);
      const data = decompress(chunk.codec, body, uncompressedSize);
      dictionary = [];
      decodePlain(kind, data, 0, data.length, dh[1] as number, dictionary, fixed);
      continue;
    }
    let n: number;
    let encoding: number;
    let data: Uint8Array;
    let p: number;
    if (pageType === PAGE_DATA) {
      const dh = header[5] as ThriftStruct;
      n = dh[1] as number;
      encoding = dh[2] as number;
      data = decompress(chunk.codec, body, uncompressedSize);
      p = 0;
      if (done + n > total) throw new ParquetLiteUnsupported('pages hold more values than the chunk');
      // v1 levels: each a 4-byte length, then RLE hybrid (the deprecated BIT_PACKED is not read).
      if (rep) {
        if ((dh[4] as number) !== ENC_RLE) throw new ParquetLiteUnsupported('repetition levels not RLE');
        const len = new DataView(data.buffer, data.byteOffset).getUint32(p, true);
        decodeRleHybrid(data, p + 4, p + 4 + len, bitWidthFor(maxRep), n, rep, done, repCounts);
        p += 4 + len;
      }
      if (def) {
        if ((dh[3] as number) !== ENC_RLE) throw new ParquetLiteUnsupported('definition levels not RLE');
        if (p + 4 > data.length) throw new ParquetLiteUnsupported('page ends before its levels');
        const len = new DataView(data.buffer, data.byteOffset).getUint32(p, true);
        if (p + 4 + len > data.length) throw new ParquetLiteUnsupported('levels overrun the page');
        decodeRleHybrid(data, p + 4, p + 4 + len, bitWidthFor(maxDef), n, def, done, defCounts);
        p += 4 + len;
      }
    } else if (pageType === PAGE_DATA_V2) {
      const dh = header[8] as ThriftStruct;
      n = dh[1] as number;
      encoding = dh[4] as number;
      const defLen = dh[5] as number;
      const repLen = dh[6] as number;
      if (done + n > total) throw new ParquetLiteUnsupported('pages hold more values than the chunk');
      if (repLen + defLen > body.length) throw new ParquetLiteUnsupported('levels overrun the page');
      // v2 levels are never compressed and carry no length prefix.
      if (rep) decodeRleHybrid(body, 0, repLen, bitWidthFor(maxRep), n, rep, done, repCounts);
      if (def) decodeRleHybrid(body, repLen, repLen + defLen, bitWidthFor(maxDef), n, def, done, defCounts);
      const compressed = dh[7] !== false;
      const rest = body.subarray(repLen + defLen);
      data = compressed ? decompress(chunk.codec, rest, uncompressedSize - repLen - defLen) : rest;
      p = 0;
    } else {
      throw new ParquetLiteUnsupported(`page type ${pageType}`);
    }

    let present = n;
    if (def) {
      present = defCounts[maxDef] - definedBefore;
      definedBefore = defCounts[maxDef];
    }
    if (encoding === ENC_PLAIN && lazy) {
      if (!lazy.addPlain(data, p, data.length, present)) throw new ParquetLiteUnsupported('PLAIN values end early');
    } else if (encoding === ENC_PLAIN) {
      decodePlain(kind, data, p, data.length, present, values, fixed);
    } else if (encoding === ENC_PLAIN_DICTIONARY || encoding === ENC_RLE_DICTIONARY) {
      if (!dictionary) throw new ParquetLiteUnsupported('dictionary-encoded page without a dictionary');
      if (present > 0) {
        if (p >= data.length) throw new ParquetLiteUnsupported('page ends before its indices');
        const width = data[p];
        if (indices.length < present) indices = new Int32Array(present);
        decodeRleHybrid(data, p + 1, data.length, width, present, indices);
        const base = values.length;
        values.length = base + present;
        for (let i = 0; i < present; i++) {
          const ix = indices[i];
          if (ix < 0 || ix >= dictionary.length) throw new ParquetLiteUnsupported('dictionary index out of range');
          values[base + i] = dictionary[ix];
        }
      }
    } else if (encoding === ENC_RLE && kind === 'boolean') {
      if (present > 0) {
        const len = new DataView(data.buffer, data.byteOffset).getUint32(p, true);
        const bits = new Int32Array(present);
        decodeRleHybrid(data, p + 4, p + 4 + len, 1, present, bits);
        for (let i = 0; i < present; i++) values.push(bits[i] === 1);
      }
    } else {
      throw new ParquetLiteUnsupported(`value encoding ${encoding}`);
    }
    done += n;
  }
  return { rep, def, count: total, values, rowStarts: rep ? repCounts[0] : total, defCounts, ...(lazy ? { lazy } : {}) };
}
