import { connectMysql } from './mysql/mysql-source.ts';
import { connectPostgres } from './postgres/postgres-source.ts';
import type { SourceConnection, SourceConnectOptions } from './source.ts';

export type { SourceConnectOptions };

/** Connects to the source a URL names (mysql:// or postgres://). */
export function openSource(options: SourceConnectOptions): Promise<SourceConnection> {
  return options.url.kind === 'mysql' ? connectMysql(options) : connectPostgres(options);
}
