import type { Compute } from '../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../adapters/compute/sql.ts';
import { JsonInteger } from './json-text.ts';

/**
 * Integers too big for the type a reader infers are kept digit for digit. DuckDB infers DOUBLE for
 * a column with a value beyond BIGINT (123456789012345678901234567890 in a CSV column of ids, or
 * beyond 64 bits in JSON), and a double keeps 15–17 significant digits: the value would be stored
 * rounded, silently. Such a column is read instead as
 *
 *   DECIMAL(38,0)  when every value of it is an integer of at most 38 digits (Delta's widest
 *                  exact number; smaller integers of later files widen into it losslessly), else
 *   VARCHAR        the digits as written (a 40-digit id, or integers mixed with fractions).
 *
 * An established stage column of another type then refuses the value as a bad record (a lossy
 * conversion, see stage-select.ts) instead of storing it rounded.
 */
export const WIDE_INTEGER = 'DECIMAL(38,0)';

/** 2^53: from here on a double no longer holds every integer. */
export const EXACT_DOUBLE_LIMIT = 9007199254740992;

/** Inferred types that can round an integer (the ones to look at). */
const INEXACT = /^(DOUBLE|FLOAT|REAL)$/;

const DIGITS_38 = /^-?\d{1,38}$/;

/**
 * Whether a column of this type may hold an integer rounded on the way in (a value of 2^53 or
 * more): a file read with known types then is read with its types detected, as csvIntegerTypes says.
 */
export function mayRoundIntegers(type: string): boolean {
  return INEXACT.test(type);
}

/**
 * For JSON records (parsed with exactIntegers): the top-level keys holding an integer a double
 * cannot hold, each with the type that keeps its values exactly, where DuckDB inferred an
 * inexact one (`inferred`: the described columns).
 */
export function jsonIntegerTypes(records: Record<string, unknown>[], inferred: { name: string; type: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  // A nested column (STRUCT, list) with a double field holding an integer beyond 2^53 (every
  // JsonInteger is): the field may be that double, and DuckDB has no wider field type to read it
  // with, so the column is read as its JSON text, digits and all.
  for (const c of inferred.filter((x) => NESTED.test(x.type) && NESTED_INEXACT.test(x.type))) {
    if (records.some((r) => holdsExactInteger(r[c.name]))) out.set(c.name, 'VARCHAR');
  }
  const candidates = new Set(inferred.filter((c) => INEXACT.test(c.type)).map((c) => c.name));
  if (candidates.size === 0) return out;
  const wide = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) if (candidates.has(k) && r[k] instanceof JsonInteger) wide.add(k);
  for (const k of wide) {
    const integral = records.every((r) => {
      const v = r[k];
      return v === undefined || v === null || (v instanceof JsonInteger ? DIGITS_38.test(v.text) : typeof v === 'number' && Number.isSafeInteger(v));
    });
    // (A number like 1e300 parses as an integer in JavaScript but does not fit DECIMAL(38,0): only
    // safe integers and integer literals of up to 38 digits count; anything else makes it text.)
    out.set(k, integral ? WIDE_INTEGER : 'VARCHAR');
  }
  return out;
}

const NESTED = /^(STRUCT|MAP)|\[\]$/;
const NESTED_INEXACT = /\b(DOUBLE|FLOAT|REAL)\b/;
/** Whether a value holds, inside an object or array, an integer a double cannot hold exactly (a JsonInteger). */
function holdsExactInteger(v: unknown): boolean {
  if (v instanceof JsonInteger) return true;
  if (Array.isArray(v)) return v.some(holdsExactInteger);
  if (v !== null && typeof v === 'object') return Object.values(v).some(holdsExactInteger);
  return false;
}

/**
 * For a CSV file read into `table` with sniffed types: the inexact columns where a value is an
 * integer the double lost digits of, each with the type that keeps its values exactly. `text` is a
 * SELECT of the same file with every column as VARCHAR; it is only read when a double column holds
 * a value of 2^53 or more (one aggregate over the table otherwise, none without double columns).
 */
export async function csvIntegerTypes(compute: Compute, table: string, columns: { name: string; type: string }[], text: () => string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const inexact = columns.filter((c) => INEXACT.test(c.type));
  if (inexact.length === 0) return out;
  const big = await compute.query<Record<string, boolean | null>>(
    `SELECT ${inexact.map((c, i) => `coalesce(bool_or(isfinite(${sqlIdent(c.name)}) AND abs(${sqlIdent(c.name)}) >= ${EXACT_DOUBLE_LIMIT}), false) AS b${i}`).join(', ')} FROM ${table}`,
  );
  const suspects = inexact.filter((_, i) => big[0]?.[`b${i}`] === true);
  if (suspects.length === 0) return out;
  const parts = suspects.flatMap((c, i) => {
    const t = `trim(${sqlIdent(c.name)})`;
    const int = `regexp_full_match(${t}, '[+-]?[0-9]+')`;
    const exact = `TRY_CAST(${t} AS ${WIDE_INTEGER})`;
    return [
      // An integer whose double is not the same integer (or that no DECIMAL(38,0) holds).
      `bool_or(${int} AND (${exact} IS NULL OR TRY_CAST(TRY_CAST(${t} AS DOUBLE) AS ${WIDE_INTEGER}) IS DISTINCT FROM ${exact})) AS lost${i}`,
      `bool_and(${t} IS NULL OR (${int} AND ${exact} IS NOT NULL)) AS int${i}`,
    ];
  });
  const [row] = await compute.query<Record<string, boolean | null>>(`SELECT ${parts.join(', ')} FROM (${text()})`);
  suspects.forEach((c, i) => {
    if (row?.[`lost${i}`] === true) out.set(c.name, row[`int${i}`] === true ? WIDE_INTEGER : 'VARCHAR');
  });
  return out;
}

/** read_csv's `types` option giving these columns their type (the others are still detected). */
export function csvTypesOption(types: Map<string, string>): string {
  return `types = {${[...types].map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`).join(', ')}}`;
}
