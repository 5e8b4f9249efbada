import type { Dialect } from '../page-query.ts';
import type { SourceColumn } from '../source.ts';
import { bigQueryText } from './types.ts';

/** BigQuery identifiers: backticks, a backtick or backslash escaped. */
export function bigQueryIdent(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** The type a text parameter is cast to for comparing with a column (parameters are bound as STRING or INT64). */
function paramType(c: SourceColumn | undefined): string | undefined {
  const base = c?.sourceType.toUpperCase().replace(/[<(].*$/s, '').trim();
  return base && ['INT64', 'NUMERIC', 'BIGNUMERIC', 'FLOAT64', 'BOOL', 'DATE', 'DATETIME', 'TIMESTAMP'].includes(base) ? base : undefined;
}

/**
 * Named parameters `@pN`, each cast to the type of the column it is compared with (a STRING
 * parameter does not coerce to TIMESTAMP the way a literal does); values as text in the select list.
 */
export const bigQueryDialect: Dialect = {
  ident: bigQueryIdent,
  param(n, column) {
    const type = paramType(column);
    return type ? `CAST(@p${n} AS ${type})` : `@p${n}`;
  },
  sinceCondition(column, kind, value, lookbackMicros) {
    if (kind === 'integer') return `${column} >= ${value} - ${lookbackMicros}`;
    const lower = kind === 'timestamptz' ? `TIMESTAMP_SUB(${value}, INTERVAL ${lookbackMicros} MICROSECOND)` : `DATETIME_SUB(CAST(${value} AS DATETIME), INTERVAL ${lookbackMicros} MICROSECOND)`;
    return `${column} >= ${lower}`;
  },
  select: (c) => `${bigQueryText(bigQueryIdent(c.name), c.sourceType)} AS ${bigQueryIdent(c.name)}`,
};
