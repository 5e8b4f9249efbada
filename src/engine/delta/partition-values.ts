/**
 * Partition values (PROTOCOL.md "Partition Value Serialization").
 *
 * `add.partitionValues` holds every value as a string. Readers turn them into typed DuckDB literals
 * (`partitionValueToSql`) to inject the partition columns into a scan; writers turn DuckDB result
 * values into the strings (`valueToPartitionString`).
 *
 * Facts this module relies on (checked against the protocol, the Spark-written golden tables and
 * delta-kernel-rs):
 * - An empty string means null for every type ("An empty string for any type translates to a null
 *   partition value"). Spark never writes '' for a string partition either: it turns empty strings
 *   into null (`__HIVE_DEFAULT_PARTITION__`) on write. So '' is read as null, and written as null.
 * - Timestamps: old Spark wrote `2021-09-08 11:11:11` (no zone: "interpreted using the time zone of
 *   the system which wrote to the table", which a reader cannot know — lakelet, like
 *   delta-kernel-rs, reads it as UTC). Current Delta-Spark (write.utcTimestampPartitionValues,
 *   default true) and delta-kernel-rs write ISO-8601 adjusted to UTC with microseconds:
 *   `2000-01-01T12:00:00.000000Z`, the form the protocol recommends. lakelet writes that form.
 * - timestamp_ntz: `2013-07-05 17:01:00.123456` (golden table data-reader-timestamp_ntz).
 * - binary: the UTF-8 bytes of the string (delta-kernel-rs `raw.into_bytes()`).
 */
import { sqlString } from '../../adapters/compute/sql.ts';
import { InputError } from '../errors.ts';
import { deltaTypeToDuckDb, parseDecimalType } from './duckdb-types.ts';
import type { DataType } from './schema.ts';

// ---------------------------------------------------------------------------------------------
// Calendar helpers (proleptic Gregorian, UTC), shared with stats.ts and skipping.ts
// ---------------------------------------------------------------------------------------------

export const MICROS_PER_SECOND = 1_000_000n;
export const MICROS_PER_DAY = 86_400_000_000n;

/** Days since 1970-01-01 for a civil date (any year, proleptic Gregorian). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12; // March = 0
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

function daysInMonth(year: number, month: number): number {
  return daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) - daysFromCivil(year, month, 1);
}

const DATE_RE = /^(-?\d{4,})-(\d{1,2})-(\d{1,2})$/;

/** `YYYY-MM-DD` → days since the epoch, or undefined if not a valid date. */
export function parseDateToDays(text: string): number | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  return daysFromCivil(y, mo, d);
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

const TIMESTAMP_RE =
  /^(-?\d{4,})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{0,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

export interface ParsedTimestamp {
  /** Microseconds since the epoch (UTC if an offset was given or `assumeUtc`). */
  micros: bigint;
  /** Whether the text carried a zone (`Z` or an offset). */
  hasZone: boolean;
}

/**
 * Parses `YYYY-MM-DD[( |T)HH:mm[:ss[.fffffffff]]][Z|±HH[:mm]]` (DuckDB's and Spark's renderings,
 * ISO-8601). Digits beyond microseconds are truncated (floor). Returns undefined if malformed.
 */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  const h = m[4] === undefined ? 0 : Number(m[4]);
  const mi = m[5] === undefined ? 0 : Number(m[5]);
  const s = m[6] === undefined ? 0 : Number(m[6]);
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const frac = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  let micros =
    BigInt(daysFromCivil(y, mo, d)) * MICROS_PER_DAY +
    BigInt(h * 3600 + mi * 60 + s) * MICROS_PER_SECOND +
    BigInt(frac);
  const zone = m[8];
  if (zone && !/^(Z|z|UTC)$/.test(zone)) {
    const z = /^([+-])(\d{2}):?(\d{2})?:?(\d{2})?$/.exec(zone);
    if (!z) return undefined;
    const offsetSeconds = Number(z[2]) * 3600 + Number(z[3] ?? 0) * 60 + Number(z[4] ?? 0);
    const signed = BigInt(offsetSeconds) * MICROS_PER_SECOND;
    micros = z[1] === '+' ? micros - signed : micros + signed;
  }
  return { micros, hasZone: zone !== undefined };
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Splits epoch microseconds into a civil date-time (UTC). */
export function microsToParts(micros: bigint): {
  date: string;
  time: string;
  micros: number;
} {
  const days = floorDiv(micros, MICROS_PER_DAY);
  const rem = micros - days * MICROS_PER_DAY;
  const secs = Number(rem / MICROS_PER_SECOND);
  const frac = Number(rem % MICROS_PER_SECOND);
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`;
  return { date: formatDate(Number(days)), time, micros: frac };
}

/** `YYYY-MM-DD HH:mm:ss.ffffff` (no zone). */
export function formatTimestampNtz(micros: bigint): string {
  const p = microsToParts(micros);
  return `${p.date} ${p.time}.${String(p.micros).padStart(6, '0')}`;
}

/** `YYYY-MM-DDTHH:mm:ss.ffffffZ` (ISO-8601, UTC). */
export function formatTimestampUtcIso(micros: bigint): string {
  const p = microsToParts(micros);
  return `${p.date}T${p.time}.${String(p.micros).padStart(6, '0')}Z`;
}

// ---------------------------------------------------------------------------------------------
// Reading: partition string → SQL literal
// ---------------------------------------------------------------------------------------------

const INTEGRAL_TYPES = new Set(['byte', 'short', 'integer', 'long']);
const INTEGER_RE = /^[+-]?\d+$/;
const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const FLOAT_SPECIAL = /^[+-]?(nan|inf|infinity)$/i;

function badValue(value: string, type: DataType, detail = ''): InputError {
  return new InputError(
    `Partition value ${JSON.stringify(value)} is not a valid ${JSON.stringify(type)} value` +
      `${detail ? ` (${detail})` : ''}; the table's add.partitionValues may have been written by a faulty writer.`,
  );
}

function utf8Hex(value: string): string {
  return Buffer.from(value, 'utf8').toString('hex').toUpperCase();
}

/**
 * A typed DuckDB SQL literal for a serialized partition value: `NULL::T` for null (and for '', see
 * the module comment), otherwise a constant of exactly the column's DuckDB type. Throws InputError
 * if the string is not a valid value of the type.
 */
export function partitionValueToSql(value: string | null, type: DataType): string {
  if (typeof type !== 'string') {
    throw new InputError(`Partition columns must have a primitive type, got ${JSON.stringify(type)}.`);
  }
  const duck = deltaTypeToDuckDb(type);
  if (value === null || value === undefined || value === '') return `NULL::${duck}`;
  if (type === 'string') return `${sqlString(value)}::VARCHAR`;
  if (INTEGRAL_TYPES.has(type)) {
    const v = value.trim();
    if (!INTEGER_RE.test(v)) throw badValue(value, type);
    return `CAST(${sqlString(v)} AS ${duck})`;
  }
  if (type === 'float' || type === 'double') {
    const v = value.trim();
    if (!DECIMAL_RE.test(v) && !FLOAT_SPECIAL.test(v)) throw badValue(value, type);
    return `CAST(${sqlString(v)} AS ${duck})`;
  }
  if (parseDecimalType(type)) {
    const v = value.trim();
    if (!DECIMAL_RE.test(v)) throw badValue(value, type);
    return `CAST(${sqlString(v)} AS ${duck})`;
  }
  switch (type) {
    case 'boolean': {
      const v = value.trim().toLowerCase();
      if (v === 'true') return 'TRUE';
      if (v === 'false') return 'FALSE';
      throw badValue(value, type, 'expected "true" or "false"');
    }
    case 'date': {
      const days = parseDateToDays(value);
      if (days === undefined) throw badValue(value, type, 'expected YYYY-MM-DD');
      return `DATE '${formatDate(days)}'`;
    }
    case 'timestamp': {
      // Without a zone: the writer's zone is unknown; lakelet (like delta-kernel-rs) assumes UTC.
      const ts = parseTimestamp(value);
      if (!ts) throw badValue(value, type, 'expected YYYY-MM-DD HH:mm:ss[.ffffff] or ISO-8601 with Z/offset');
      return `CAST('${formatTimestampNtz(ts.micros)}+00' AS TIMESTAMPTZ)`;
    }
    case 'timestamp_ntz': {
      const ts = parseTimestamp(value);
      if (!ts || ts.hasZone) throw badValue(value, type, 'expected YYYY-MM-DD HH:mm:ss[.ffffff] without a zone');
      return `CAST('${formatTimestampNtz(ts.micros)}' AS TIMESTAMP)`;
    }
    case 'binary':
      return `unhex('${utf8Hex(value)}')`;
    default:
      throw new InputError(`Partition columns of type ${type} are not supported.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing: DuckDB value → partition string
// ---------------------------------------------------------------------------------------------

/** Shortest decimal text that reads back as the same 32-bit float. */
function shortestFloat(n: number): string {
  const f = Math.fround(n);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return String(candidate);
  }
  return String(f);
}

function floatingToString(value: unknown, type: 'float' | 'double'): string {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string') {
    const v = value.trim();
    if (/^[+]?(nan)$/i.test(v)) return 'NaN';
    if (/^[+]?(inf|infinity)$/i.test(v)) return 'Infinity';
    if (/^-(inf|infinity)$/i.test(v)) return '-Infinity';
    if (!DECIMAL_RE.test(v)) throw new InputError(`Value ${JSON.stringify(value)} is not a valid ${type}.`);
    n = Number(v);
  } else throw new InputError(`Value ${String(value)} is not a valid ${type}.`);
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Object.is(n, -0)) return '-0.0';
  return type === 'float' ? shortestFloat(n) : String(n);
}

/** Decodes DuckDB's text rendering of a BLOB (`ab\x00\xFF`) into bytes. */
function duckBlobTextToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === 'x' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 2, i + 4))) {
      out.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const code = text.charCodeAt(i);
      if (code > 0x7f) {
        out.push(...Buffer.from(text[i]!, 'utf8'));
      } else out.push(code);
    }
  }
  return Uint8Array.from(out);
}

function timestampMicrosOf(value: unknown, type: 'timestamp' | 'timestamp_ntz'): bigint {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new InputError(`Invalid Date given for a ${type} partition value.`);
    return BigInt(ms) * 1000n;
  }
  if (typeof value === 'string') {
    const ts = parseTimestamp(value);
    if (!ts) throw new InputError(`Value ${JSON.stringify(value)} is not a valid ${type}.`);
    if (type === 'timestamp_ntz' && ts.hasZone) {
      throw new InputError(`Value ${JSON.stringify(value)} has a time zone but the column is timestamp_ntz.`);
    }
    // A zone-less value for a `timestamp` column is taken as UTC (Compute runs with TimeZone=UTC).
    return ts.micros;
  }
  throw new InputError(`Value ${String(value)} is not a valid ${type}.`);
}

/**
 * The `add.partitionValues` string for one value as DuckDB returns it through Compute.query
 * (JSON-safe: bigints and decimals as strings, timestamps as `2021-01-01 00:00:00.123+00`, BLOBs as
 * `\xAB`-escaped text). Returns null for null (and for '', which Delta reads as null anyway).
 */
export function valueToPartitionString(value: unknown, type: DataType): string | null {
  if (value === null || value === undefined) return null;
  if (typeof type !== 'string') {
    throw new InputError(`Partition columns must have a primitive type, got ${JSON.stringify(type)}.`);
  }
  if (type === 'string') {
    const s = typeof value === 'string' ? value : String(value);
    return s === '' ? null : s;
  }
  if (INTEGRAL_TYPES.has(type)) {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string' && INTEGER_RE.test(value.trim())) return BigInt(value.trim()).toString();
    throw new InputError(`Value ${JSON.stringify(value)} is not a valid ${type}.`);
  }
  if (type === 'float' || type === 'double') return floatingToString(value, type);
  if (parseDecimalType(type)) {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string' && DECIMAL_RE.test(value.trim())) return value.trim();
    throw new InputError(`Value ${JSON.stringify(value)} is not a valid ${type}.`);
  }
  switch (type) {
    case 'boolean':
      if (value === true || value === 'true' || value === 'TRUE') return 'true';
      if (value === false || value === 'false' || value === 'FALSE') return 'false';
      throw new InputError(`Value ${JSON.stringify(value)} is not a valid boolean.`);
    case 'date': {
      if (value instanceof Date) return value.toISOString().slice(0, 10);
      const days = typeof value === 'string' ? parseDateToDays(value) : undefined;
      if (days === undefined) throw new InputError(`Value ${JSON.stringify(value)} is not a valid date (YYYY-MM-DD).`);
      return formatDate(days);
    }
    case 'timestamp':
      return formatTimestampUtcIso(timestampMicrosOf(value, type));
    case 'timestamp_ntz':
      return formatTimestampNtz(timestampMicrosOf(value, type));
    case 'binary': {
      const bytes =
        value instanceof Uint8Array
          ? value
          : typeof value === 'string'
            ? duckBlobTextToBytes(value)
            : undefined;
      if (!bytes) throw new InputError(`Value ${String(value)} is not a valid binary value.`);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new InputError(
          'A binary partition value must be valid UTF-8: Delta serializes binary partition values as text. ' +
            'Partition by hex(column) instead.',
        );
      }
      return text === '' ? null : text;
    }
    default:
      throw new InputError(`Partition columns of type ${type} are not supported.`);
  }
}

/**
 * The partition value of a column in an add action's partitionValues: by its physical name (column
 * mapping), else its logical name, else the logical name in any case. Null when absent.
 */
export function lookupPartitionValue(values: Record<string, string | null>, physical: string, logical: string): string | null {
  if (physical in values) return values[physical];
  if (logical in values) return values[logical];
  const lower = logical.toLowerCase();
  for (const [k, v] of Object.entries(values)) if (k.toLowerCase() === lower) return v;
  return null;
}
