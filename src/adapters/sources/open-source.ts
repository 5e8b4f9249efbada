import { connectMysql } from './mysql/mysql-source.ts';
import { connectPostgres } from './postgres/postgres-source.ts';
import type { SourceConnection } from './source.ts';
import type { SourceUrl } from './source-url.ts';

export interface SourceConnectOptions {
  /** The source's name in lakelet.yml (every error names it). */
  name: string;
  url: SourceUrl;
  password: string | undefined;
  /** TLS: require (encrypt, any certificate), verify-ca / verify-full (check against `ca`, or the system's CAs). */
  tls?: { mode: 'require' | 'verify-ca' | 'verify-full'; ca?: string };
  connectTimeoutMs: number;
}

/** Connects to the source a URL names (mysql:// or postgres://). */
export function openSource(options: SourceConnectOptions): Promise<SourceConnection> {
  return options.url.kind === 'mysql' ? connectMysql(options) : connectPostgres(options);
}
