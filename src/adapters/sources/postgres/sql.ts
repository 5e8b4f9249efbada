import type { Dialect } from '../page-query.ts';

/** PostgreSQL identifiers: double quotes, a double quote doubled. */
export function postgresIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

const CASTS = { date: 'date', timestamp: 'timestamp', timestamptz: 'timestamptz', integer: 'bigint' } as const;

export const postgresDialect: Dialect = {
  ident: postgresIdent,
  param: (n) => `$${n}`,
  sinceCondition(column, kind, value, lookbackMicros) {
    if (kind === 'integer') return `${column} >= CAST(${value} AS bigint) - CAST(${lookbackMicros} AS bigint)`;
    return `${column} >= CAST(${value} AS ${CASTS[kind]}) - make_interval(secs => CAST(${lookbackMicros} AS double precision) / 1000000)`;
  },
};
