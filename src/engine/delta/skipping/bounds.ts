/**
 * Bounds: what a stats value, a partition value or a literal says about a column's values, as an
 * interval in one comparable domain (numbers, microseconds since the epoch, UTF-8 ordered strings,
 * booleans), following how DuckDB compares a column of the Delta type with it.
 */
import { parseDecimalType } from '../duckdb-types.ts';
import { MICROS_PER_DAY, parseDateToDays, parseTimestamp } from '../partition-values.ts';
import type { DataType } from '../schema.ts';
import type { Literal } from './predicate.ts';
import { adjustForColumn, decimalTextInterval, nextDown, nextUp, numericValue, type Interval } from './numbers.ts';

type Domain = 'num' | 'time' | 'str';
type Bound = { domain: 'num'; v: Interval<number> } | { domain: 'time'; v: Interval<bigint> } | { domain: 'str'; v: Interval<string> };

const INTEGRAL = new Set(['byte', 'short', 'integer', 'long']);

function domainOf(t: DataType): Domain | 'bool' | undefined {
  if (typeof t !== 'string') return undefined;
  if (INTEGRAL.has(t) || t === 'float' || t === 'double' || parseDecimalType(t)) return 'num';
  if (t === 'string') return 'str';
  if (t === 'date' || t === 'timestamp' || t === 'timestamp_ntz') return 'time';
  if (t === 'boolean') return 'bool';
  return undefined;
}

/** Delta stats value → bound. Timestamps are stored truncated to milliseconds: true value ∈ [v, v+999µs]. */
export function statBound(raw: unknown, t: DataType): Bound | undefined {
  if (raw === null || raw === undefined || typeof t !== 'string') return undefined;
  const d = domainOf(t);
  if (d === 'num') {
    const v = numericValue(raw, t);
    return v ? { domain: 'num', v } : undefined;
  }
  if (d === 'str') return typeof raw === 'string' ? { domain: 'str', v: { lo: raw, hi: raw } } : undefined;
  if (d === 'time' && typeof raw === 'string') {
    if (t === 'date') {
      const v = dateInterval(raw);
      return v ? { domain: 'time', v } : undefined;
    }
    const ts = parseTimestamp(raw);
    if (!ts) return undefined;
    return { domain: 'time', v: { lo: ts.micros, hi: ts.micros + 999n } };
  }
  return undefined;
}

/** A partition value string → exact bound (or undefined if unusable). */
export function partitionBound(raw: string, t: DataType): Bound | { domain: 'bool'; v: Interval<number> } | undefined {
  if (typeof t !== 'string') return undefined;
  const d = domainOf(t);
  if (d === 'num') {
    const v = numericValue(raw, t);
    return v && !Number.isNaN(v.lo) ? { domain: 'num', v } : undefined;
  }
  if (d === 'str') return { domain: 'str', v: { lo: raw, hi: raw } };
  if (d === 'bool') {
    const s = raw.trim().toLowerCase();
    if (s !== 'true' && s !== 'false') return undefined;
    const x = s === 'true' ? 1 : 0;
    return { domain: 'bool', v: { lo: x, hi: x } };
  }
  if (d === 'time') {
    if (t === 'date') {
      const v = dateInterval(raw);
      return v ? { domain: 'time', v } : undefined;
    }
    // No zone → UTC, consistent with partitionValueToSql.
    const ts = parseTimestamp(raw);
    if (!ts || (t === 'timestamp_ntz' && ts.hasZone)) return undefined;
    return { domain: 'time', v: { lo: ts.micros, hi: ts.micros } };
  }
  return undefined;
}

/** A date as the microseconds of its midnight (UTC), exact. */
function dateInterval(text: string): Interval<bigint> | undefined {
  const days = parseDateToDays(text);
  if (days === undefined) return undefined;
  const m = BigInt(days) * MICROS_PER_DAY;
  return { lo: m, hi: m };
}

const NUMERIC_LITERAL = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/;

function timeOfText(text: string | null, kind: 'date' | 'ts' | 'tstz' | 'ns'): Interval<bigint> | undefined {
  if (text === null) return undefined;
  if (kind === 'date') return dateInterval(text);
  const ts = parseTimestamp(text);
  if (!ts) return undefined;
  if (kind === 'ns') {
    // Sub-microsecond digits were truncated: the true value lies within the next microsecond.
    const frac = /\.(\d+)/.exec(text)?.[1] ?? '';
    const extra = frac.length > 6 && /[1-9]/.test(frac.slice(6));
    return { lo: ts.micros, hi: extra ? ts.micros + 1n : ts.micros };
  }
  return { lo: ts.micros, hi: ts.micros };
}

/**
 * The literal as a bound in the column's domain, following how DuckDB compares a column of Delta
 * type `t` with it; 'null' for NULL; undefined when lakelet cannot tell (then nothing is skipped).
 */
export function literalBound(lit: Literal, t: DataType): Bound | { domain: 'bool'; v: Interval<number> } | 'null' | undefined {
  if (lit.failed) return undefined;
  if (lit.text === null) return 'null';
  if (typeof t !== 'string') return undefined;
  const d = domainOf(t);
  const ty = lit.duckType;
  if (d === 'num') {
    if (NUMERIC_LITERAL.test(ty)) {
      let v: Interval<number> | undefined;
      if (ty === 'DOUBLE') v = numericValue(lit.text, 'double');
      else if (ty === 'FLOAT') {
        const x = Math.fround(Number(lit.text));
        v = Number.isNaN(x) ? undefined : { lo: x, hi: x };
      } else v = decimalTextInterval(lit.text);
      if (!v || Number.isNaN(v.lo) || Number.isNaN(v.hi)) return undefined;
      return { domain: 'num', v: adjustForColumn(v, t) };
    }
    if (ty === 'VARCHAR' && lit.casts?.double) {
      // DuckDB casts the string to the column's type, rounding to its precision.
      const x = Number(lit.casts.double);
      if (!Number.isFinite(x)) return undefined;
      let v: Interval<number> = { lo: x, hi: x };
      if (INTEGRAL.has(t)) v = { lo: Math.floor(nextDown(x)), hi: Math.ceil(nextUp(x)) };
      else {
        const dec = parseDecimalType(t);
        if (dec) {
          const step = 10 ** -dec.scale;
          v = { lo: nextDown(x - step), hi: nextUp(x + step) };
        }
      }
      return { domain: 'num', v: adjustForColumn(v, t) };
    }
    return undefined;
  }
  if (d === 'str') return ty === 'VARCHAR' ? { domain: 'str', v: { lo: lit.text, hi: lit.text } } : undefined;
  if (d === 'bool') {
    const b = ty === 'BOOLEAN' ? lit.text === 'true' : ty === 'VARCHAR' ? lit.casts?.boolean : undefined;
    if (b === undefined || b === null) return undefined;
    return { domain: 'bool', v: { lo: b ? 1 : 0, hi: b ? 1 : 0 } };
  }
  if (d === 'time') {
    let v: Interval<bigint> | undefined;
    if (ty === 'DATE') v = timeOfText(lit.text, 'date');
    else if (ty === 'TIMESTAMP' || ty === 'TIMESTAMP_S' || ty === 'TIMESTAMP_MS' || ty === 'TIMESTAMP WITH TIME ZONE') {
      v = timeOfText(lit.text, 'ts');
    } else if (ty === 'TIMESTAMP_NS') v = timeOfText(lit.text, 'ns');
    else if (ty === 'VARCHAR' && lit.casts) {
      if (t === 'date') v = timeOfText(lit.casts.date, 'date');
      else if (t === 'timestamp') v = timeOfText(lit.casts.timestamptz, 'ts');
      else v = timeOfText(lit.casts.timestamp, 'ts');
    }
    return v ? { domain: 'time', v } : undefined;
  }
  return undefined;
}

/** Orders strings by code point (= UTF-8 byte order, which is how DuckDB and Parquet compare). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800–0xDFFF) encode code points above 0xFFFF: move them above the BMP.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

export type AnyBound = Bound | { domain: 'bool'; v: Interval<number> };

export function cmp(a: number | bigint | string, b: number | bigint | string): number {
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = a as number;
  const y = b as number;
  return x < y ? -1 : x > y ? 1 : 0;
}
