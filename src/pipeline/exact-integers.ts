import { INEXACT, WIDE_INTEGER } from '../engine/ops/csv-integers.ts';
import { JsonInteger } from './json-text.ts';

/**
 * Integers too big for the type a reader infers are kept digit for digit (the CSV half, which the
 * engine's own CSV source shares, is engine/ops/csv-integers.ts). DuckDB infers DOUBLE for
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
const DIGITS_38 = /^-?\d{1,38}$/;

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

