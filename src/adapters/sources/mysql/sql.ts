import type { Dialect } from '../page-query.ts';

/** MySQL/MariaDB identifiers: backticks, a backtick doubled. */
export function mysqlIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export const mysqlDialect: Dialect = {
  ident: mysqlIdent,
  param: () => '?',
  sinceCondition(column, kind, value, lookbackMicros) {
    if (kind === 'integer') return `${column} >= ${value} - ${lookbackMicros}`;
    // The session runs in UTC (mysql-source.ts), so a TIMESTAMP column compares as UTC DATETIME.
    return `${column} >= (CAST(${value} AS DATETIME(6)) - INTERVAL ${lookbackMicros} MICROSECOND)`;
  },
};
