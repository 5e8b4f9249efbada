import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';

/**
 * A CSV column of integers too big for the type DuckDB's sniffer infers is kept digit for digit.
 * The sniffer infers DOUBLE for a column with a value beyond BIGINT (or for integers mixed with
 * fractions), and a double keeps 15–17 significant digits: 9007199254740993 would be stored as
 * 9007199254740992, silently. Such a column is read instead as
 *
 *   DECIMAL(38,0)  when every value of it is an integer of at most 38 digits (Delta's widest
 *                  exact number), else
 *   VARCHAR        the digits as written (a 40-digit id, or integers mixed with fractions).
 *
 * The pipeline's reader (pipeline/exact-integers.ts, which adds JSON) and the engine's own CSV
 * source (`lakelet write --from x.csv`, a MERGE source file) both use it.
 */
export const WIDE_INTEGER = 'DECIMAL(38,0)';

/** 2^53: from here on a double no longer holds every integer. */
export const EXACT_DOUBLE_LIMIT = 9007199254740992;

/** Inferred types that can round an integer (the ones to look at). */
export const INEXACT = /^(DOUBLE|FLOAT|REAL)$/;

/**
 * Whether a column of this type may hold an integer rounded on the way in (a value of 2^53 or
 * more): a file read with known types then is read with its types detected, as csvIntegerTypes says.
 */
export function mayRoundIntegers(type: string): boolean {
  return INEXACT.test(type);
}

/**
 * For a CSV file read into `table` (a table, or a parenthesised SELECT) with sniffed types: the inexact columns where a value is an
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

/** A read_csv(…) SELECT (ending in its closing parenthesis) with one more option. */
export function withCsvReadOption(sql: string, option: string): string {
  return sql.replace(/\)$/, `, ${option})`);
}
