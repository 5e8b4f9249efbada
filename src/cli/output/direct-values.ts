import type { DirectValue } from '../../engine/delta/direct-read.ts';
import { formatDate, microsToParts } from '../../engine/delta/partition-values.ts';
import { parseDecimalType } from '../../engine/delta/duckdb-types.ts';

/**
 * The JSON text of a cell read without DuckDB, exactly as values.ts has DuckDB render it (see
 * jsonTextSelect): the direct read path of `lakelet read` must print byte for byte what the DuckDB
 * path prints, which test/cli/read-direct.test.ts checks over many tables. A value DuckDB would
 * print in a form not reproduced here (a year outside 0000–9999) throws, and the caller falls back.
 */
export type JsonText = (value: DirectValue) => string | null;

export class DirectRenderUnsupported extends Error {}

/**
 * One column's renderers: `json` the cell's JSON text (ndjson), `plain` what values.ts plainText
 * makes of that text (csv, the table format), produced without the JSON round trip: a string as
 * it is, every other quoted value holds no character JSON escapes, so unquoting it is plainText.
 */
export interface CellText {
  json: JsonText;
  plain: JsonText;
}

/** The renderers for a column of Delta type `type`. */
export function cellTextFor(type: string): CellText {
  if (type === 'string') return { json: (v) => (v === null ? null : jsonString(v as string)), plain: (v) => (v === null ? null : (v as string)) };
  if (type === 'double') {
    // JSON numbers, but NaN and the infinities JSON strings (as Spark's to_json writes them).
    const plain: JsonText = (v) => (v === null ? null : doubleText(v as number));
    return { json: (v) => (v === null ? null : Number.isFinite(v) ? doubleText(v as number) : `"${doubleText(v as number)}"`), plain };
  }
  const { text, quoted } = textFor(type);
  const plain: JsonText = (v) => (v === null ? null : text(v));
  if (!quoted) return { json: plain, plain };
  return { json: (v) => (v === null ? null : `"${text(v)}"`), plain };
}

/** A non-null value's text, and whether its JSON form is that text in quotes. */
function textFor(type: string): { text: (v: DirectValue) => string; quoted: boolean } {
  switch (type) {
    case 'byte':
    case 'short':
    case 'integer':
      return { text: String, quoted: false };
    case 'long':
      return { text: String, quoted: true };
    case 'boolean':
      return { text: (v) => (v ? 'true' : 'false'), quoted: false };
    case 'binary':
      return { text: (v) => Buffer.from(v as Uint8Array).toString('base64'), quoted: true };
    case 'date':
      return { text: (v) => dateText(v as number), quoted: true };
    case 'timestamp':
      return { text: (v) => `${timestampText(v as number | bigint)}Z`, quoted: true };
    case 'timestamp_ntz':
      return { text: (v) => timestampText(v as number | bigint), quoted: true };
  }
  const dec = parseDecimalType(type);
  if (dec) return { text: (v) => decimalText(v as number | bigint, dec.scale), quoted: true };
  throw new DirectRenderUnsupported(`type ${type}`);
}

/** Right-aligned in the table format (values.ts isNumeric, by Delta type). */
export function isNumericType(type: string): boolean {
  return ['byte', 'short', 'integer', 'long', 'float', 'double'].includes(type) || parseDecimalType(type) !== undefined;
}

/** Texts of days already rendered: a column of dates or timestamps repeats days (a year has 365). */
const dayTexts = new Map<number, string>();

function dateText(days: number): string {
  let text = dayTexts.get(days);
  if (text !== undefined) return text;
  text = formatDate(days);
  if (!/^\d{4}-/.test(text)) throw new DirectRenderUnsupported(`date ${text}`);
  if (dayTexts.size >= 10_000) dayTexts.clear();
  dayTexts.set(days, text);
  return text;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff` (strftime's %f is microseconds). */
function timestampText(micros: number | bigint): string {
  if (typeof micros === 'bigint') {
    const p = microsToParts(micros);
    if (!/^\d{4}-/.test(p.date)) throw new DirectRenderUnsupported(`timestamp in ${p.date}`);
    return `${p.date}T${p.time}.${String(p.micros).padStart(6, '0')}`;
  }
  // A safe integer: plain arithmetic, exact (each quotient is far from the next integer at this
  // magnitude), several times cheaper than BigInt per value.
  const days = Math.floor(micros / 86_400_000_000);
  const rem = micros - days * 86_400_000_000;
  const secs = Math.floor(rem / 1_000_000);
  const fraction = rem - secs * 1_000_000;
  const h = Math.floor(secs / 3600);
  const m = Math.floor(secs / 60) % 60;
  return `${dateText(days)}T${two(h)}:${two(m)}:${two(secs % 60)}.${fraction === 0 ? '000000' : String(fraction).padStart(6, '0')}`;
}

/** '00'..'59': hours, minutes and seconds as text without a new string per value. */
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => (n < 10 ? `0${n}` : String(n)));

function two(n: number): string {
  return TWO_DIGITS[n];
}

function decimalText(unscaled: number | bigint, scale: number): string {
  // A safe integer's digits without a BigInt per value (the same text: both print exact integers).
  const negative = unscaled < 0;
  const digits = typeof unscaled === 'number' && Number.isSafeInteger(unscaled) ? String(Math.abs(unscaled)) : (negative ? -BigInt(unscaled) : BigInt(unscaled)).toString();
  if (scale === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(scale + 1, '0');
  const text = `${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/**
 * DuckDB's CAST(DOUBLE AS VARCHAR): the shortest digits that read back as the same value,
 * positional with at least one fractional digit for decimal exponents -4..15, else `d.ddde+XX`
 * (two exponent digits at least); NaN, Infinity, -Infinity. Not FLOAT: DuckDB does not print the
 * shortest single-precision digits on ties and rounding boundaries (256781.375 stays 256781.375),
 * so FLOAT columns are read through DuckDB (direct-read.ts declines them).
 */
function doubleText(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const shortest = x.toExponential();
  const at = shortest.indexOf('e');
  const exp = Number(shortest.slice(at + 1));
  const negative = shortest.startsWith('-');
  const digits = shortest.slice(negative ? 1 : 0, at).replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fraction = digits.slice(exp + 1);
  return `${sign}${whole}.${fraction || '0'}`;
}

const ESCAPED = /["\\\u0000-\u001f]/g;
const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** DuckDB's to_json of a VARCHAR: like JSON.stringify, but other control characters as upper-case `\u00XX`. */
function jsonString(s: string): string {
  return `"${s.replace(ESCAPED, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)}"`;
}
