// Comparing tables across Delta implementations "by value", strictly.
//
// lakelet's `read()` rows and the delta-rs peer's JSON rows spell the same values differently
// (BIGINT as a string vs a number below 2^53, `2024-01-02 03:04:05.123456+00` vs
// `2024-01-02T03:04:05.123456Z`, DuckDB's `\xFF`-escaped BLOB text vs base64). Both are mapped
// here, column by column and driven by the Delta type of the column, to one canonical form:
//
//   byte/short/integer/long   decimal integer string, range-checked for the type
//   float/double              the shortest JS form of the number ('-0' kept apart from '0'),
//                             or NaN / Infinity / -Infinity; a float must be an exact float32
//   decimal(p,s)              unscaled integer at scale s, `<unscaled>e-<s>`, at most p digits
//   boolean, string           themselves (type-checked)
//   binary                    base64
//   date                      days since 1970-01-01
//   timestamp                 microseconds since the epoch; the text must carry a zone
//   timestamp_ntz             the wall-clock reading as microseconds since 1970-01-01 00:00; no zone allowed
//
// Anything a side prints that does not fit its column's type throws, naming the column and value:
// a mismatch is never papered over by a looser comparison.
import { Buffer } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataType, StructType } from '../../src/engine/delta/schema.ts';

/** Who printed a row: lakelet's `read()` (DuckDB JSON values) or the delta-rs peer. */
/** lakelet = DeltaTable.read() rows (binary as base64); duckdb = raw DuckDB query rows (BLOB text). */
export type Side = 'lakelet' | 'duckdb' | 'delta-rs';

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  byte: [-(2n ** 7n), 2n ** 7n - 1n],
  short: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
};

const FLOAT_WORDS = new Set(['NaN', 'Infinity', '-Infinity']);

/** Rows as canonical JSON strings (keys in schema order), sorted. Throws on any ill-typed cell. */
export function canonicalTableRows(rows: Record<string, unknown>[], schema: StructType, side: Side): string[] {
  const names = schema.fields.map((f) => f.name);
  return rows
    .map((row, i) => {
      const keys = Object.keys(row).sort();
      if (JSON.stringify(keys) !== JSON.stringify([...names].sort())) {
        throw new Error(`${side} row ${i} has columns [${keys.join(', ')}], the schema has [${names.join(', ')}]`);
      }
      const out: Record<string, unknown> = {};
      for (const f of schema.fields) out[f.name] = canonicalCell(row[f.name], f.type, side, `${side} row ${i} column ${f.name}`);
      return JSON.stringify(out);
    })
    .sort();
}

/** One cell in canonical form (see the file comment). `where` names the cell in errors. */
export function canonicalCell(v: unknown, type: DataType, side: Side, where: string): unknown {
  if (v === null || v === undefined) return null;
  const bad = (what: string): never => {
    throw new Error(`${where}: ${JSON.stringify(v)} is not ${what} (type ${JSON.stringify(type)})`);
  };
  if (typeof type !== 'string') return bad('comparable: nested types are not handled by the interop normaliser');

  const range = INTEGER_RANGES[type];
  if (range) {
    let n: bigint;
    if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
    else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = BigInt(v);
    else return bad('an integer');
    if (n < range[0] || n > range[1]) bad(`in the range of ${type}`);
    return n.toString();
  }
  if (type === 'float' || type === 'double') {
    if (typeof v === 'string') return FLOAT_WORDS.has(v) ? v : bad('a number, NaN or ±Infinity');
    if (typeof v !== 'number') return bad('a number');
    if (type === 'float' && Math.fround(v) !== v) bad('an exact 32-bit float');
    return Object.is(v, -0) ? '-0' : String(v);
  }
  const dec = /^decimal\((\d+),(\d+)\)$/.exec(type);
  if (dec) {
    const precision = Number(dec[1]);
    const scale = Number(dec[2]);
    if (typeof v !== 'string') return bad('a decimal string');
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(v);
    if (!m) return bad('a decimal in fixed-point notation');
    const frac = m[3] ?? '';
    if (frac.length > scale) bad(`a decimal of scale ${scale}`);
    const unscaled = BigInt(m[2] + frac.padEnd(scale, '0')) * (m[1] === '-' ? -1n : 1n);
    const abs = unscaled < 0n ? -unscaled : unscaled;
    if (abs >= 10n ** BigInt(precision)) bad(`within precision ${precision}`);
    return `${unscaled}e-${scale}`;
  }
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean' ? v : bad('a boolean');
    case 'string':
      return typeof v === 'string' ? v : bad('a string');
    case 'binary': {
      if (typeof v !== 'string') return bad('binary text');
      if (side === 'duckdb') return Buffer.from(duckDbBlobText(v, where)).toString('base64');
      const bytes = Buffer.from(v, 'base64');
      if (bytes.toString('base64') !== v) bad('canonical base64');
      return v;
    }
    case 'date': {
      if (typeof v !== 'string') return bad('a date string');
      const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(v);
      if (!m) return bad('a YYYY-MM-DD date');
      return `d:${civilDays(Number(m[1]), Number(m[2]), Number(m[3]), () => bad('a calendar date'))}`;
    }
    case 'timestamp':
    case 'timestamp_ntz': {
      if (typeof v !== 'string') return bad('a timestamp string');
      const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(v);
      if (!m) return bad('a timestamp with at most microseconds');
      const zone = m[8];
      if (type === 'timestamp' && zone === undefined) bad('an instant: the text has no zone');
      if (type === 'timestamp_ntz' && zone !== undefined) bad('a wall-clock timestamp: the text has a zone');
      const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]), () => bad('a calendar date'));
      const [hh, mi, ss] = [Number(m[4]), Number(m[5]), Number(m[6])];
      if (hh > 23 || mi > 59 || ss > 59) bad('a time of day');
      let seconds = BigInt(days) * 86400n + BigInt(hh * 3600 + mi * 60 + ss);
      if (zone !== undefined && zone !== 'Z') {
        const z = /^([+-])(\d\d):?(\d\d)?$/.exec(zone)!;
        const offset = BigInt(Number(z[2]) * 3600 + Number(z[3] ?? '0') * 60);
        seconds -= z[1] === '+' ? offset : -offset;
      }
      const micros = seconds * 1_000_000n + BigInt((m[7] ?? '').padEnd(6, '0'));
      return `${type === 'timestamp' ? 'ts' : 'ntz'}:${micros}`;
    }
    default:
      return bad('of a type the interop normaliser knows');
  }
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function civilDays(y: number, m: number, d: number, invalid: () => never): number {
  const monthDays = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (m < 1 || m > 12 || d < 1 || d > monthDays[m - 1]) invalid();
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Bytes of DuckDB's text form of a BLOB, as `@duckdb/node-api` JSON gives it: printable ASCII as
 * itself, every other byte (and `"` and `'`) as `\xHH`. DuckDB does not escape the backslash, so
 * text that spells `\xHH` with literal characters reads back as the single byte: the form is not
 * injective (see the report on read()'s binary values); values in the shared tests avoid it.
 */
export function duckDbBlobText(text: string, where = 'blob'): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const esc = /^\\x([0-9A-F]{2})/.exec(text.slice(i, i + 4));
    if (esc) {
      out.push(parseInt(esc[1], 16));
      i += 3;
      continue;
    }
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) throw new Error(`${where}: DuckDB BLOB text ${JSON.stringify(text)} has an unescaped byte at ${i}`);
    out.push(code);
  }
  return Uint8Array.from(out);
}

/** A Delta schema's columns as {name, type, nullable}: what the two sides must agree on. */
export function schemaShape(schema: StructType): { name: string; type: DataType; nullable: boolean }[] {
  return schema.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable }));
}

/** Column spec and rows for the peer's `write --data` file. */
export interface PeerData {
  schema: { name: string; type: string; nullable?: boolean }[];
  rows: (Record<string, unknown> | unknown[])[];
}

/** Writes `data` as `<dir>/<name>.json` for the peer's `--data` and returns the path. */
export function writePeerData(dir: string, name: string, data: PeerData): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data), 'utf8');
  return file;
}

/** `<table>/_delta_log/%020d.json`. */
export function commitFile(tableDir: string, version: number): string {
  return path.join(tableDir, '_delta_log', `${String(version).padStart(20, '0')}.json`);
}

/** `<table>/_delta_log/%020d.checkpoint.parquet` (a classic single-file checkpoint). */
export function checkpointFile(tableDir: string, version: number): string {
  return path.join(tableDir, '_delta_log', `${String(version).padStart(20, '0')}.checkpoint.parquet`);
}
