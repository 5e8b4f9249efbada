import { createRequire } from 'node:module';
import type { BigQuery, BigQueryOptions } from '@google-cloud/bigquery';
import { keyPages, pageQuery } from '../page-query.ts';
import { SourceError, type KeyScope, type PageRequest, type SourceConnection, type SourceConnectOptions, type SourceTable, type TextRow } from '../source.ts';
import { bigQueryDialect, bigQueryIdent } from './sql.ts';
import { bigQueryColumn } from './types.ts';

// Loaded on first use: the client and its auth library take a while to load, which a sync of
// MySQL or PostgreSQL sources should not pay.
const load = createRequire(import.meta.url);

/**
 * BigQuery as a source (seed 001's hourly DAG read BigQuery tables with a created_at/updated_at):
 * `bigquery://project/dataset`, credentials from Application Default Credentials;
 * `BIGQUERY_EMULATOR_HOST` sends every call to an emulator with a dummy token. Each page is one
 * query job (bounded by pageSize rows), ordered by (watermark, key) like the other sources, so a
 * late run never loses rows the way a fixed "last 60 minutes" window does.
 *
 * Primary keys: BigQuery's are unenforced and optional; they come from INFORMATION_SCHEMA
 * (KEY_COLUMN_USAGE) where the server has it, or from `tableOptions.<table>.key` in lakelet.yml.
 */
export async function connectBigQuery(o: SourceConnectOptions, env: NodeJS.ProcessEnv = process.env): Promise<SourceConnection> {
  const { BigQuery: BigQueryClass } = load('@google-cloud/bigquery') as typeof import('@google-cloud/bigquery');
  const location = o.url.params.location;
  const options: BigQueryOptions = { projectId: o.url.host, ...(location ? { location } : {}) };
  const emulator = env.BIGQUERY_EMULATOR_HOST;
  if (emulator) {
    const { OAuth2Client } = load('google-auth-library') as typeof import('google-auth-library');
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: 'emulator' });
    Object.assign(options, { apiEndpoint: /^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`, authClient: auth });
  }
  // The client would take BIGQUERY_EMULATOR_HOST as the whole API base (without /bigquery/v2); apiEndpoint above is right.
  const saved = process.env.BIGQUERY_EMULATOR_HOST;
  delete process.env.BIGQUERY_EMULATOR_HOST;
  try {
    return new BigQuerySource(o.name, new BigQueryClass(options), o.url.database, location);
  } finally {
    if (saved !== undefined) process.env.BIGQUERY_EMULATOR_HOST = saved;
  }
}

class BigQuerySource implements SourceConnection {
  readonly kind = 'bigquery' as const;
  constructor(
    private readonly name: string,
    private readonly bq: BigQuery,
    private readonly dataset: string,
    private readonly location: string | undefined,
  ) {}

  /** Rows of one query job, every value as BigQuery returned it (text: the queries cast). */
  private async query(sql: string, params: unknown[], what: string): Promise<Record<string, unknown>[]> {
    try {
      const named = Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]));
      const [job] = await this.bq.createQueryJob({ query: sql, ...(params.length ? { params: named } : {}), ...(this.location ? { location: this.location } : {}) });
      const [rows] = await job.getQueryResults({ wrapIntegers: { integerTypeCastFunction: (v: string) => v } });
      return rows as Record<string, unknown>[];
    } catch (err) {
      const e = err as { message?: string; code?: number };
      const why = e.code === 401 || e.code === 403 ? 'access denied (check Application Default Credentials and the BigQuery Data Viewer role)' : (e.message ?? String(err)).split('\n')[0];
      throw new SourceError(this.name, `${what} failed: ${why}`, { cause: err });
    }
  }

  async tables(schemas?: string[]): Promise<SourceTable[]> {
    const out: SourceTable[] = [];
    for (const dataset of schemas?.length ? schemas : [this.dataset]) {
      const ds = bigQueryIdent(dataset);
      const cols = await this.query(
        `SELECT c.table_name AS t, c.column_name AS c, c.data_type AS dt FROM ${ds}.INFORMATION_SCHEMA.COLUMNS c JOIN ${ds}.INFORMATION_SCHEMA.TABLES t ON t.table_name = c.table_name WHERE t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position`,
        [],
        `reading the columns of dataset ${dataset}`,
      );
      const keys = await this.query(
        `SELECT k.table_name AS t, k.column_name AS c FROM ${ds}.INFORMATION_SCHEMA.KEY_COLUMN_USAGE k JOIN ${ds}.INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc ON tc.constraint_name = k.constraint_name WHERE tc.constraint_type = 'PRIMARY KEY' ORDER BY k.table_name, k.ordinal_position`,
        [],
        'reading primary keys',
      ).catch(() => []); // not every server has these views (the emulator has none): keys then come from lakelet.yml
      const byName = new Map<string, SourceTable>();
      for (const r of cols) {
        const t = String(r.t);
        if (!byName.has(t)) byName.set(t, { schema: dataset, name: t, columns: [], primaryKey: keys.filter((k) => k.t === t).map((k) => String(k.c)) });
        byName.get(t)!.columns.push(bigQueryColumn(String(r.c), String(r.dt)));
      }
      out.push(...byName.values());
    }
    return out;
  }

  page(request: PageRequest): AsyncIterable<TextRow> {
    const { sql, params } = pageQuery(bigQueryDialect, request);
    return this.rows(sql, params, request.table, request.table.columns.map((c) => c.name));
  }

  keys(table: SourceTable, pageSize: number, since?: KeyScope): AsyncIterable<TextRow> {
    return keyPages(bigQueryDialect, table, pageSize, since, (sql, params) => this.rows(sql, params, table, table.primaryKey));
  }

  private async *rows(sql: string, params: unknown[], table: SourceTable, names: string[]): AsyncIterable<TextRow> {
    const rows = await this.query(sql, params, `reading ${table.schema}.${table.name}`);
    for (const r of rows) yield names.map((n) => (r[n] === null || r[n] === undefined ? null : String(r[n])));
  }

  async close(): Promise<void> {}
}
