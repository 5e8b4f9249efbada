import { InputError } from '../../errors/lakelet-error.ts';

/**
 * A database URL without its secret: `mysql://user@host:port/db?…`, `postgres://…`, or
 * `bigquery://project/dataset?location=EU` (host: the project, database: the dataset; no user:
 * BigQuery takes Application Default Credentials).
 */
export interface SourceUrl {
  kind: 'mysql' | 'postgres' | 'bigquery';
  user: string;
  host: string;
  port: number;
  database: string;
  /** Query parameters (sslmode, …), passed on to the driver where they mean something. */
  params: Record<string, string>;
}

const KINDS: Record<string, 'mysql' | 'postgres' | 'bigquery'> = { 'bigquery:': 'bigquery',  'mysql:': 'mysql', 'mariadb:': 'mysql', 'postgres:': 'postgres', 'postgresql:': 'postgres' };

/**
 * Parses a source URL. A password in it is refused: lakelet.yml is checked in and shared, so the
 * secret comes from an environment variable (passwordEnv) or a file (passwordFile) instead.
 */
export function parseSourceUrl(source: string, text: string): SourceUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(`source '${source}': '${text}' is not a URL; write mysql://user@host:3306/database or postgres://user@host:5432/database`);
  }
  const kind = KINDS[url.protocol];
  if (!kind) throw new InputError(`source '${source}': unknown scheme '${url.protocol}' (use mysql:// for MySQL and MariaDB, postgres:// for PostgreSQL, bigquery://project/dataset for BigQuery)`);
  if (url.password) {
    throw new InputError(
      `source '${source}': the URL holds a password; remove it from lakelet.yml and give it with passwordEnv: <VARIABLE> or passwordFile: <path> instead`,
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (kind === 'bigquery') {
    if (!url.hostname || !database || database.includes('/')) throw new InputError(`source '${source}': write bigquery://<project>/<dataset> (got '${text}')`);
    if (url.username) throw new InputError(`source '${source}': a bigquery:// URL takes no user; credentials come from Application Default Credentials`);
    return { kind, user: '', host: url.hostname, port: 0, database, params: Object.fromEntries(url.searchParams) };
  }
  if (!database) throw new InputError(`source '${source}': the URL names no database; write ${url.protocol}//user@host/<database>`);
  if (!url.username) throw new InputError(`source '${source}': the URL names no user; write ${url.protocol}//<user>@${url.host}/${database}`);
  return {
    kind,
    user: decodeURIComponent(url.username),
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : kind === 'mysql' ? 3306 : 5432,
    database,
    params: Object.fromEntries(url.searchParams),
  };
}
