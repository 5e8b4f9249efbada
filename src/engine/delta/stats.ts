/**
 * Per-file statistics (PROTOCOL.md "Per-file Statistics"): reading `add.stats`, and writing it from
 * the per-column Parquet statistics DuckDB returns for `COPY … TO 'f.parquet' (FORMAT parquet,
 * RETURN_STATS)`.
 *
 * RETURN_STATS gives one row per written file: filename, count, file_size_bytes,
 * footer_size_bytes, column_statistics. column_statistics is a MAP from the quoted leaf column path
 * (`"s"."x"`, with `"` doubled inside names) to a MAP of strings: min, max, null_count, num_values,
 * column_size_bytes and, for FLOAT/DOUBLE, has_nan. Through Compute.query both maps arrive as
 * arrays of {key, value}. Values print as DuckDB casts them to VARCHAR: integers and decimals as
 * exact digits, floats in shortest form, DATE as `2020-01-02`, TIMESTAMPTZ as
 * `2021-01-01 03:00:00.123456+00`, TIMESTAMP as `2021-01-01 10:00:00.5`. DuckDB itself caps string
 * statistics at 256 bytes (a truncated max is bumped so it stays an upper bound) and omits them for
 * longer multi-byte strings; min/max are absent for all-null columns and when a float column holds
 * NaN.
 *
 * What Spark writes (golden tables data-skipping-basic-stats-all-types, data-reader-timestamp_ntz):
 * numbers as JSON numbers (decimals too), dates `2000-01-01`, timestamps in ISO-8601 with
 * millisecond precision and the writer's offset (`2000-01-01T00:00:00.000-08:00`; `Z` in UTC),
 * timestamp_ntz `2021-11-18T02:30:00.123`, no min/max for boolean and binary, nested structs as
 * nested objects keyed by physical names.
 */
import { InputError } from '../errors.ts';
import type { FileStats, Metadata } from './actions.ts';
import { parseDecimalType } from './duckdb-types.ts';
import { formatDate, microsToParts, parseDateToDays, parseTimestamp } from './partition-values.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { isStruct, parseSchemaString } from './schema.ts';

export const DEFAULT_NUM_INDEXED_COLS = 32;
export const DEFAULT_STRING_PREFIX_LENGTH = 32;

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/**
 * Parses `add.stats`. Tolerant: missing, empty or malformed stats yield undefined (a reader then
 * simply cannot skip the file). Note that JSON numbers beyond 2^53 lose precision here; the
 * skipping code widens such bounds instead of trusting them exactly.
 */
export function parseStats(json?: string | null): FileStats | undefined {
  if (json === undefined || json === null || json === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const raw = parsed as Record<string, unknown>;
  const out: FileStats = {};
  const n = raw.numRecords;
  if (typeof n === 'number' && Number.isFinite(n)) out.numRecords = n;
  else if (typeof n === 'string' && /^\d+$/.test(n)) out.numRecords = Number(n);
  for (const key of ['minValues', 'maxValues', 'nullCount'] as const) {
    const v = raw[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) out[key] = v as Record<string, unknown>;
  }
  if (typeof raw.tightBounds === 'boolean') out.tightBounds = raw.tightBounds;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Which columns get statistics
// ---------------------------------------------------------------------------------------------

/** Splits `a, b.c, `we.ird`.x` into paths, honouring backtick quoting (`` `` `` escapes a backtick). */
export function parseColumnPathList(text: string): string[][] {
  const paths: string[][] = [];
  let segments: string[] = [];
  let current = '';
  let quoted = false;
  let sawQuote = false;
  const endSegment = () => {
    const s = sawQuote ? current : current.trim();
    if (s !== '' || sawQuote) segments.push(s);
    current = '';
    sawQuote = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '`') {
        if (text[i + 1] === '`') {
          current += '`';
          i++;
        } else quoted = false;
      } else current += ch;
      continue;
    }
    if (ch === '`') {
      quoted = true;
      sawQuote = true;
      current = current.trim();
    } else if (ch === '.') endSegment();
    else if (ch === ',') {
      endSegment();
      if (segments.length) paths.push(segments);
      segments = [];
    } else current += ch;
  }
  if (quoted) throw new InputError(`Unterminated backtick in column list ${JSON.stringify(text)}.`);
  endSegment();
  if (segments.length) paths.push(segments);
  return paths;
}

function samePrefix(prefix: string[], path: string[]): boolean {
  if (prefix.length > path.length) return false;
  return prefix.every((p, i) => p.toLowerCase() === path[i]!.toLowerCase());
}

/** Leaf columns (logical paths, schema order). Arrays and maps are leaves; structs are descended. */
export function leafColumns(schema: StructType): { path: string[]; type: DataType }[] {
  const out: { path: string[]; type: DataType }[] = [];
  const walk = (fields: StructField[], prefix: string[]) => {
    for (const f of fields) {
      const path = [...prefix, f.name];
      if (isStruct(f.type)) walk(f.type.fields, path);
      else out.push({ path, type: f.type });
    }
  };
  walk(schema.fields, []);
  return out;
}

function selectLeaves(
  schema: StructType,
  partitionColumns: readonly string[],
  configuration: Readonly<Record<string, string>>,
): string[][] {
  const partitions = new Set(partitionColumns.map((c) => c.toLowerCase()));
  const leaves = leafColumns(schema)
    .map((l) => l.path)
    .filter((p) => !partitions.has(p[0]!.toLowerCase()));
  const explicit = configuration['delta.dataSkippingStatsColumns'];
  if (explicit !== undefined && explicit.trim() !== '') {
    const wanted = parseColumnPathList(explicit);
    return leaves.filter((leaf) => wanted.some((w) => samePrefix(w, leaf)));
  }
  const raw = configuration['delta.dataSkippingNumIndexedCols'];
  let n = DEFAULT_NUM_INDEXED_COLS;
  if (raw !== undefined && /^\s*-?\d+\s*$/.test(raw)) {
    const v = Number(raw);
    if (v === -1) n = Infinity;
    else if (v >= 0) n = v;
  }
  return leaves.slice(0, n);
}

/**
 * The data columns (logical paths, schema order) that carry statistics in this table:
 * `delta.dataSkippingStatsColumns` (comma-separated, backtick-quoted, a struct selects all its
 * leaves) if set, otherwise the first `delta.dataSkippingNumIndexedCols` (default 32, -1 = all) leaf
 * columns. Partition columns are not counted (they are not in the data files). Arrays and maps count
 * as leaves, as in Delta-Spark and delta-kernel-rs.
 */
export function statsColumns(metadata: Pick<Metadata, 'schemaString' | 'partitionColumns' | 'configuration'>): string[][] {
  return selectLeaves(parseSchemaString(metadata.schemaString), metadata.partitionColumns ?? [], metadata.configuration ?? {});
}

// ---------------------------------------------------------------------------------------------
// String truncation (what Delta-Spark does, so Spark's readers and ours agree)
// ---------------------------------------------------------------------------------------------

const ASCII_MAX = '\u007F';
const UTF8_MAX = '\u{10FFFF}';

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * A lower bound for min: the first `prefixLength` UTF-16 units (a surrogate pair is never split:
 * it is kept whole). Any prefix of a string sorts at or before it.
 */
export function truncateMinString(s: string, prefixLength: number): string {
  if (s.length <= prefixLength) return s;
  if (prefixLength <= 0) return '';
  if (isHigh(s.charCodeAt(prefixLength - 1)) && isLow(s.charCodeAt(prefixLength))) return s.slice(0, prefixLength + 1);
  return s.slice(0, prefixLength);
}

/**
 * An upper bound for max, or undefined when none short enough exists.
 *
 * A bare prefix of the max would sort BEFORE the max, so readers would wrongly skip the file for
 * `col > prefix`. Delta-Spark (StatisticsCollection.truncateMaxStringAgg) appends a tie-breaker that
 * sorts after the character it replaces in UTF-8 byte order: U+007F if that character is ASCII below
 * 0x7F, otherwise U+10FFFF (the largest code point); characters that are themselves U+10FFFF are
 * kept and the cut moves on, up to 2×prefixLength units, after which the max is omitted. We do the
 * same so that files we write skip identically in Spark, delta-rs and lakelet.
 */
export function truncateMaxString(s: string, prefixLength: number): string | undefined {
  if (s.length <= prefixLength) return s;
  if (prefixLength <= 0) return undefined;
  const limit = 2 * prefixLength;
  let cut = truncateMinString(s, prefixLength).length;
  while (cut <= limit) {
    if (cut >= s.length) return s;
    if (s.codePointAt(cut) === 0x10ffff) {
      cut += 2;
      continue;
    }
    return s.slice(0, cut) + (s.charCodeAt(cut) < 0x7f ? ASCII_MAX : UTF8_MAX);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Writing: RETURN_STATS row → add.stats
// ---------------------------------------------------------------------------------------------

/**
 * The name a column has in the Parquet files (column mapping) given its logical name. Called for
 * every field, nested ones included; `field` and the logical path of its parent are passed for
 * callers that need more than the name. Default: the logical name.
 */
export type PhysicalNameOf = (logicalName: string, field: StructField, parentPath: readonly string[]) => string;

export interface StatsOptions {
  /** Strings are cut to this many characters (Delta default 32). */
  stringPrefixLength?: number;
  /**
   * Logical leaf paths that get statistics, e.g. from `statsColumns(metadata)`. Takes precedence
   * over `configuration`.
   */
  columns?: string[][];
  /**
   * Table configuration: `delta.dataSkippingStatsColumns` / `delta.dataSkippingNumIndexedCols`
   * select the columns (matched against `schema`, which should then be the data schema without
   * partition columns). Default when neither `columns` nor this is given: the first 32 leaves.
   */
  configuration?: Readonly<Record<string, string>>;
  /** Adds `"tightBounds": …` (Spark writes it when the table supports deletion vectors). */
  tightBounds?: boolean;
}

/** One row of `COPY … (FORMAT parquet, RETURN_STATS)` as Compute.query returns it. */
export interface ReturnStatsRow {
  filename?: string;
  count: string | number | bigint;
  file_size_bytes?: string | number | bigint;
  column_statistics: unknown;
  [key: string]: unknown;
}

/** A DuckDB MAP as Compute.query renders it ([{key, value}]), a JS Map, or a plain object. */
function mapEntries(value: unknown): [string, unknown][] {
  if (value === null || value === undefined) return [];
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [String(k), v]);
  if (Array.isArray(value)) {
    return value
      .filter((e): e is { key: unknown; value: unknown } => !!e && typeof e === 'object' && 'key' in e)
      .map((e) => [String(e.key), e.value]);
  }
  if (typeof value === 'object') return Object.entries(value as Record<string, unknown>);
  return [];
}

/** `"a"."b ""c"""` — the key RETURN_STATS uses for a leaf column path. */
export function returnStatsKey(physicalPath: readonly string[]): string {
  return physicalPath.map((s) => `"${s.replace(/"/g, '""')}"`).join('.');
}

const INTEGRAL = new Set(['byte', 'short', 'integer', 'long']);

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Truncates to milliseconds (floor), as the protocol prescribes for timestamp stats. */
function formatStatsTimestamp(micros: bigint, withZone: boolean): string {
  const millis = floorDiv(micros, 1000n) * 1000n;
  const p = microsToParts(millis);
  return `${p.date}T${p.time}.${String(p.micros / 1000).padStart(3, '0')}${withZone ? 'Z' : ''}`;
}

/**
 * A min/max string from RETURN_STATS → the JSON text Delta stores, or undefined to omit it.
 * `which` matters for strings (truncation direction).
 */
function statValueJson(type: DataType, text: string, which: 'min' | 'max', prefixLength: number): string | undefined {
  if (typeof type !== 'string') return undefined;
  if (INTEGRAL.has(type)) {
    const t = text.trim();
    return /^[+-]?\d+$/.test(t) ? BigInt(t).toString() : undefined;
  }
  if (type === 'float' || type === 'double') {
    const n = Number(text);
    // Infinities and NaN have no JSON form; an infinite bound carries no information anyway.
    return Number.isFinite(n) ? JSON.stringify(n) : undefined;
  }
  if (parseDecimalType(type)) {
    const t = text.trim();
    // Exact digits (JSON numbers have arbitrary precision; Spark writes decimals this way too).
    return /^-?\d+(\.\d+)?$/.test(t) ? t : undefined;
  }
  switch (type) {
    case 'string': {
      const s = which === 'min' ? truncateMinString(text, prefixLength) : truncateMaxString(text, prefixLength);
      return s === undefined ? undefined : JSON.stringify(s);
    }
    case 'date': {
      const days = parseDateToDays(text);
      return days === undefined ? undefined : JSON.stringify(formatDate(days));
    }
    case 'timestamp': {
      const ts = parseTimestamp(text);
      return ts ? JSON.stringify(formatStatsTimestamp(ts.micros, true)) : undefined;
    }
    case 'timestamp_ntz': {
      const ts = parseTimestamp(text);
      return ts && !ts.hasZone ? JSON.stringify(formatStatsTimestamp(ts.micros, false)) : undefined;
    }
    default:
      // boolean, binary: Delta does not use min/max for them (Spark writes none).
      return undefined;
  }
}

/** A JSON object whose values are raw JSON texts or nested objects, kept in insertion order. */
type RawJsonObject = Map<string, string | RawJsonObject>;

function setPath(root: RawJsonObject, path: readonly string[], value: string): void {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    let child = node.get(path[i]!);
    if (!(child instanceof Map)) {
      child = new Map();
      node.set(path[i]!, child);
    }
    node = child;
  }
  node.set(path[path.length - 1]!, value);
}

function rawJson(obj: RawJsonObject): string {
  const parts: string[] = [];
  for (const [k, v] of obj) parts.push(`${JSON.stringify(k)}:${typeof v === 'string' ? v : rawJson(v)}`);
  return `{${parts.join(',')}}`;
}

function toCount(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return BigInt(value.trim());
  return undefined;
}

/**
 * Converts one RETURN_STATS row into the `add.stats` JSON string:
 * `{"numRecords":N,"minValues":{…},"maxValues":{…},"nullCount":{…}}`, keyed by physical names,
 * nested structs as nested objects. `schema` is the logical schema of the columns in the file;
 * `physicalNameOf` gives a field's name in the Parquet file (column mapping), default its name.
 * The row is typically a {@link ReturnStatsRow}; only `count` and `column_statistics` are read.
 *
 * Min/max are written for numbers, decimals, dates, timestamps (ms precision, truncated down, as the
 * protocol says; readers widen the max by 1 ms) and strings (truncated, see truncateMaxString); not
 * for boolean/binary, nor for float columns containing NaN. Arrays and maps get nothing: Parquet
 * leaf statistics describe their elements, not the column, so no correct nullCount can be derived.
 */
export function statsFromReturnStats(
  row: { count: unknown; column_statistics?: unknown },
  schema: StructType,
  physicalNameOf: PhysicalNameOf = (name) => name,
  options: StatsOptions = {},
): string {
  const prefixLength = options.stringPrefixLength ?? DEFAULT_STRING_PREFIX_LENGTH;
  const numRecords = toCount(row.count);
  if (numRecords === undefined) {
    throw new InputError(`RETURN_STATS row has no usable "count" (${String(row.count)}): cannot write add.stats.`);
  }
  const columns = options.columns ?? selectLeaves(schema, [], options.configuration ?? {});

  const byKey = new Map<string, Map<string, string>>();
  for (const [key, stats] of mapEntries(row.column_statistics)) {
    const m = new Map<string, string>();
    for (const [k, v] of mapEntries(stats)) if (v !== null && v !== undefined) m.set(k, String(v));
    byKey.set(key, m);
  }

  const minValues: RawJsonObject = new Map();
  const maxValues: RawJsonObject = new Map();
  const nullCount: RawJsonObject = new Map();

  const visit = (fields: StructField[], logical: string[], physical: string[]) => {
    for (const f of fields) {
      const lpath = [...logical, f.name];
      const ppath = [...physical, physicalNameOf(f.name, f, logical)];
      if (isStruct(f.type)) {
        if (columns.some((c) => samePrefix(lpath, c) || samePrefix(c, lpath))) visit(f.type.fields, lpath, ppath);
        continue;
      }
      if (typeof f.type !== 'string') continue; // array / map: see the doc comment
      if (!columns.some((c) => samePrefix(c, lpath))) continue;
      const s = byKey.get(returnStatsKey(ppath));
      if (!s) continue;
      const nulls = toCount(s.get('null_count'));
      if (nulls !== undefined) setPath(nullCount, ppath, nulls.toString());
      if (nulls !== undefined && nulls >= numRecords) continue; // all null: no min/max
      if ((f.type === 'float' || f.type === 'double') && s.get('has_nan') !== 'false') {
        // NaN sorts above every number in DuckDB and Spark; a min/max that ignores it would let a
        // reader skip files holding NaN rows. If has_nan is unknown, be equally careful.
        continue;
      }
      const min = s.get('min');
      const max = s.get('max');
      const minJson = min === undefined ? undefined : statValueJson(f.type, min, 'min', prefixLength);
      const maxJson = max === undefined ? undefined : statValueJson(f.type, max, 'max', prefixLength);
      if (minJson !== undefined) setPath(minValues, ppath, minJson);
      if (maxJson !== undefined) setPath(maxValues, ppath, maxJson);
    }
  };
  visit(schema.fields, [], []);

  let json = `{"numRecords":${numRecords.toString()}`;
  if (minValues.size) json += `,"minValues":${rawJson(minValues)}`;
  if (maxValues.size) json += `,"maxValues":${rawJson(maxValues)}`;
  if (nullCount.size) json += `,"nullCount":${rawJson(nullCount)}`;
  if (options.tightBounds !== undefined) json += `,"tightBounds":${options.tightBounds}`;
  return `${json}}`;
}
