import { connectBigQuery } from './bigquery/bigquery-source.ts';
import { connectMysql } from './mysql/mysql-source.ts';
import { connectPostgres } from './postgres/postgres-source.ts';
import type { SourceConnection, SourceConnectOptions } from './source.ts';

export type { SourceConnectOptions };

/** Connects to the source a URL names (mysql://, postgres:// or bigquery://). */
export function openSource(options: SourceConnectOptions): Promise<SourceConnection> {
  if (options.url.kind === 'bigquery') return connectBigQuery(options);
  return options.url.kind === 'mysql' ? connectMysql(options) : connectPostgres(options);
}
