/**
 * RoaringBitmap serialization as Delta deletion vectors use it.
 *
 * A 32-bit bitmap uses the "portable" format of the RoaringFormatSpec: a header naming 16-bit
 * containers (key = high 16 bits, cardinality), then each container as a sorted uint16 array,
 * an 8 KiB bitset, or (cookie 12347 only) a list of runs. Delta wraps 64-bit row indexes as a
 * RoaringTreemap: magic 1681511377, a uint64 bucket count, then per bucket a uint32 high key and
 * a 32-bit bitmap of the low halves. Everything is little endian.
 *
 * Row indexes are JS numbers here, so decoding refuses any high key >= 2^21 (values >= 2^53).
 */

/** The magic number of Delta's portable RoaringBitmapArray format (little endian on disk). */
export const DV_MAGIC_PORTABLE = 1681511377;

const COOKIE_NO_RUNS = 12346;
const COOKIE_WITH_RUNS = 12347;
/** With cookie 12347, the offset header is only written for this many containers or more. */
const NO_OFFSET_THRESHOLD = 4;
/** Containers with more values than this are bitsets (when not runs). */
const ARRAY_MAX = 4096;
const BITSET_BYTES = 8192;
/** Highest bucket key whose values all stay below Number.MAX_SAFE_INTEGER + 1 = 2^53. */
const MAX_SAFE_HIGH_KEY = 2 ** 21 - 1;

/** Malformed bitmap bytes; deletion-vector.ts wraps it in a CorruptLogError with file and version. */
export class RoaringFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RoaringFormatError';
  }
}

/** Little-endian cursor that reports truncation as a RoaringFormatError instead of a RangeError. */
class Reader {
  private readonly view: DataView;
  pos = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new RoaringFormatError(`truncated bitmap: ${what} needs ${n} bytes at offset ${this.pos} of ${this.bytes.length}`);
    }
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    const lo = this.u32(what);
    const hi = this.u32(what);
    // Counts this large cannot be real (each bucket takes >= 12 bytes); reject before overflow.
    if (hi !== 0) throw new RoaringFormatError(`${what} ${hi} * 2^32 + ${lo} is implausibly large`);
    return lo;
  }
}

/**
 * Decodes one 32-bit portable RoaringBitmap starting at the reader's position, appending
 * `high + value` for each member to `out` in ascending order.
 */
function readBitmap32(r: Reader, high: number, out: number[]): void {
  const cookieWord = r.u32('cookie');
  const cookie = cookieWord & 0xffff;
  let size: number;
  let runFlags: Uint8Array | undefined;
  if (cookieWord === COOKIE_NO_RUNS) {
    size = r.u32('container count');
  } else if (cookie === COOKIE_WITH_RUNS) {
    // The container count (minus one) shares the cookie's 32-bit word.
    size = (cookieWord >>> 16) + 1;
    const flagBytes = Math.ceil(size / 8);
    r.need(flagBytes, 'run flags');
    runFlags = r.bytes.subarray(r.pos, r.pos + flagBytes);
    r.pos += flagBytes;
  } else {
    throw new RoaringFormatError(`unknown RoaringBitmap cookie ${cookieWord} (expected ${COOKIE_NO_RUNS} or ${COOKIE_WITH_RUNS})`);
  }
  if (size > 65536) throw new RoaringFormatError(`container count ${size} exceeds 65536`);

  const keys = new Array<number>(size);
  const cards = new Array<number>(size);
  r.need(size * 4, 'container headers');
  for (let i = 0; i < size; i++) {
    keys[i] = r.u16('container key');
    cards[i] = r.u16('container cardinality') + 1;
    if (i > 0 && keys[i] <= keys[i - 1]) throw new RoaringFormatError(`container keys not ascending at ${i}`);
  }
  // Containers are stored back to back, so the offsets are redundant for a sequential decoder.
  if (runFlags === undefined || size >= NO_OFFSET_THRESHOLD) {
    r.need(size * 4, 'container offsets');
    r.pos += size * 4;
  }

  for (let i = 0; i < size; i++) {
    const base = high + keys[i] * 0x10000;
    const isRun = runFlags !== undefined && (runFlags[i >> 3] & (1 << (i & 7))) !== 0;
    const before = out.length;
    if (isRun) readRunContainer(r, base, out);
    else if (cards[i] <= ARRAY_MAX) readArrayContainer(r, base, cards[i], out);
    else readBitsetContainer(r, base, out);
    if (out.length - before !== cards[i]) {
      throw new RoaringFormatError(`container ${keys[i]} holds ${out.length - before} values, header says ${cards[i]}`);
    }
  }
}

function readArrayContainer(r: Reader, base: number, card: number, out: number[]): void {
  r.need(card * 2, 'array container');
  let prev = -1;
  for (let j = 0; j < card; j++) {
    const v = r.u16('array value');
    if (v <= prev) throw new RoaringFormatError('array container values not ascending');
    prev = v;
    out.push(base + v);
  }
}

function readBitsetContainer(r: Reader, base: number, out: number[]): void {
  r.need(BITSET_BYTES, 'bitset container');
  // 1024 little-endian uint64 words: bit k of the container is bit (k & 7) of byte (k >> 3).
  for (let byte = 0; byte < BITSET_BYTES; byte++) {
    const b = r.bytes[r.pos + byte];
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) out.push(base + byte * 8 + bit);
  }
  r.pos += BITSET_BYTES;
}

function readRunContainer(r: Reader, base: number, out: number[]): void {
  const runs = r.u16('run count');
  r.need(runs * 4, 'runs');
  let next = 0; // smallest value the next run may start at (runs are sorted and disjoint)
  for (let j = 0; j < runs; j++) {
    const start = r.u16('run start');
    const length = r.u16('run length') + 1;
    if (start < next || start + length > 0x10000) throw new RoaringFormatError('run container runs overlap or overflow');
    for (let v = start; v < start + length; v++) out.push(base + v);
    next = start + length;
  }
}

/**
 * Decodes Delta's 64-bit DV payload (magic + RoaringTreemap) into sorted row indexes.
 * Trailing bytes after the last bucket are an error: they mean the size was misread.
 */
export function decodeRoaringTreemap(bytes: Uint8Array): number[] {
  const r = new Reader(bytes);
  const magic = r.u32('magic number');
  if (magic !== DV_MAGIC_PORTABLE) {
    throw new RoaringFormatError(`unknown deletion vector magic number ${magic} (expected ${DV_MAGIC_PORTABLE})`);
  }
  const buckets = r.u64('bucket count');
  const out: number[] = [];
  let prevKey = -1;
  for (let b = 0; b < buckets; b++) {
    const key = r.u32('bucket key');
    if (key <= prevKey) throw new RoaringFormatError(`bucket keys not ascending at bucket ${b}`);
    if (key > MAX_SAFE_HIGH_KEY) {
      throw new RoaringFormatError(`bucket key ${key} means row indexes >= 2^53, which lakelet cannot represent`);
    }
    prevKey = key;
    readBitmap32(r, key * 2 ** 32, out);
  }
  if (r.pos !== bytes.length) {
    throw new RoaringFormatError(`${bytes.length - r.pos} unexpected bytes after the last bucket`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding (for writing DVs). Picks, per container, the smallest of array / bitset / runs, as
// run-optimized Java and CRoaring bitmaps do; the cookie is 12347 only if a run container exists.

/** Little-endian byte sink that grows as needed. */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}


// The encoder runs once per DV a process writes, usually over tens of thousands of positions in
// code the JIT has not compiled yet: it avoids per-value calls and iterators, finds container
// bounds by binary search, and lets typed-array conversions (native even in cold code) do the
// per-value work where they can.

/** This platform stores a Uint16Array's elements little-endian (every Node target does). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** First index in [from, to) whose value is >= limit (values ascending). */
function lowerBound(values: ArrayLike<number>, from: number, to: number, limit: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One container: its key, its values' low 16 bits (ascending) and the smallest encoding. */
interface Container {
  key: number;
  lows: Uint16Array;
  kind: 'array' | 'bitset' | 'run';
  /** Run containers: the [start, length - 1] pairs, as written. */
  runs?: Uint16Array;
}

function makeContainer(key: number, lows: Uint16Array): Container {
  const n = lows.length;
  const arrayBytes = n <= ARRAY_MAX ? n * 2 : Infinity;
  const plain = Math.min(arrayBytes, BITSET_BYTES);
  const kind: Container['kind'] = arrayBytes <= BITSET_BYTES ? 'array' : 'bitset';
  // A run container wins only below this many runs: stop counting once past it.
  const maxRuns = Math.ceil((plain - 2) / 4) - 1;
  let runs = 1;
  for (let i = 1; i < n && runs <= maxRuns; i++) if (lows[i] !== lows[i - 1] + 1) runs++;
  if (runs > maxRuns) return { key, lows, kind };
  const pairs = new Uint16Array(runs * 2);
  let r = 0;
  pairs[0] = lows[0];
  for (let i = 1; i < n; i++) {
    if (lows[i] !== lows[i - 1] + 1) {
      pairs[r * 2 + 1] = lows[i - 1] - pairs[r * 2];
      r++;
      pairs[r * 2] = lows[i];
    }
  }
  pairs[r * 2 + 1] = lows[n - 1] - pairs[r * 2];
  return { key, lows, kind: 'run', runs: pairs };
}

/** Little-endian bytes of 16-bit values. */
function u16Bytes(values: Uint16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, values[i], true);
  return out;
}

/** One 32-bit portable RoaringBitmap of `values[from, to)` (ascending, each below 2^32 after `- base`). */
function writeBitmap32(w: Writer, values: ArrayLike<number>, from: number, to: number, base: number): void {
  const containers: Container[] = [];
  for (let s = from; s < to; ) {
    const key = Math.floor((values[s] - base) / 0x10000);
    const e = lowerBound(values, s, to, base + (key + 1) * 0x10000);
    // A Uint16Array keeps each value's low 16 bits (ToUint16), natively; base is a multiple of 2^16.
    const lows = new Uint16Array(e - s);
    for (let i = s; i < e; i++) lows[i - s] = values[i];
    containers.push(makeContainer(key, lows));
    s = e;
  }
  const size = containers.length;
  const hasRuns = containers.some((c) => c.kind === 'run');
  const headerStart = w.length;
  if (hasRuns) {
    w.u32(COOKIE_WITH_RUNS | ((size - 1) << 16));
    const flags = new Uint8Array(Math.ceil(size / 8));
    containers.forEach((c, i) => {
      if (c.kind === 'run') flags[i >> 3] |= 1 << (i & 7);
    });
    w.bytes(flags);
  } else {
    w.u32(COOKIE_NO_RUNS);
    w.u32(size);
  }
  for (const c of containers) {
    w.u16(c.key);
    w.u16(c.lows.length - 1);
  }
  if (!hasRuns || size >= NO_OFFSET_THRESHOLD) {
    // Offsets are relative to the start of this 32-bit bitmap's serialization.
    let offset = w.length - headerStart + size * 4;
    for (const c of containers) {
      w.u32(offset);
      offset += c.kind === 'run' ? 2 + c.runs!.length * 2 : c.kind === 'array' ? c.lows.length * 2 : BITSET_BYTES;
    }
  }
  for (const c of containers) {
    if (c.kind === 'run') {
      w.u16(c.runs!.length / 2);
      w.bytes(u16Bytes(c.runs!));
    } else if (c.kind === 'array') {
      w.bytes(u16Bytes(c.lows));
    } else {
      const bits = new Uint8Array(BITSET_BYTES);
      const lows = c.lows;
      for (let i = 0; i < lows.length; i++) bits[lows[i] >> 3] |= 1 << (lows[i] & 7);
      w.bytes(bits);
    }
  }
}

/**
 * Encodes row indexes (any order, duplicates ignored; each a non-negative safe integer) as
 * Delta's DV payload: magic + RoaringTreemap. The inverse of `decodeRoaringTreemap`.
 */
export function encodeRoaringTreemap(rows: ArrayLike<number>): Uint8Array {
  let ascending = true;
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i];
    // (Not Number.isSafeInteger: a call per value is what cold code pays most for.)
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER) || v % 1 !== 0) throw new RangeError(`row index ${v} is not a non-negative safe integer`);
    if (i > 0 && v <= rows[i - 1]) ascending = false;
  }
  // Writers pass sorted, distinct positions: skip the copy, dedup and sort then.
  const sorted = ascending ? rows : [...new Set(Array.from(rows))].sort((a, b) => a - b);
  const w = new Writer();
  w.u32(DV_MAGIC_PORTABLE);
  // Buckets of the high 32 bits; the usual case, every position below 2^32, is one bucket.
  const buckets: { high: number; from: number; to: number }[] = [];
  for (let s = 0; s < sorted.length; ) {
    const high = Math.floor(sorted[s] / 2 ** 32);
    const e = lowerBound(sorted, s, sorted.length, (high + 1) * 2 ** 32);
    buckets.push({ high, from: s, to: e });
    s = e;
  }
  w.u32(buckets.length); // uint64 bucket count: low word ...
  w.u32(0); // ... and high word
  for (const b of buckets) {
    w.u32(b.high);
    writeBitmap32(w, sorted, b.from, b.to, b.high * 2 ** 32);
  }
  return w.result();
}
