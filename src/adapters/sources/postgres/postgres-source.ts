import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { keyPages, pageQuery } from '../page-query.ts';
import { SourceError, type KeyScope, type PageRequest, type SourceConnection, type SourceConnectOptions, type SourceTable, type TextRow } from '../source.ts';
import { postgresDialect } from './sql.ts';
import { postgresColumn } from './types.ts';

/** Every value as PostgreSQL's own text output: numbers exact, timestamps in the session's UTC. */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/**
 * PostgreSQL through pg, pages read with pg-query-stream (a server-side cursor fetched 256 rows at
 * a time), so a large first sync never holds a page, let alone a table, in memory.
 */
export async function connectPostgres(o: SourceConnectOptions): Promise<SourceConnection> {
  const sslmode = o.tls?.mode ?? o.url.params.sslmode;
  const ssl = !sslmode || sslmode === 'disable' ? false : { ...(o.tls?.ca ? { ca: o.tls.ca } : {}), rejectUnauthorized: sslmode === 'verify-ca' || sslmode === 'verify-full' };
  const client = new pg.Client({
    host: o.url.host,
    port: o.url.port,
    user: o.url.user,
    database: o.url.database,
    ...(o.password !== undefined ? { password: o.password } : {}),
    ssl,
    types: TEXT_TYPES,
    connectionTimeoutMillis: o.connectTimeoutMs,
    application_name: 'lakelet sync',
  });
  // A connection that breaks later surfaces in the query that was running; never as an unhandled event.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query("SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'; SET extra_float_digits TO 3");
  } catch (err) {
    await client.end().catch(() => {});
    throw connectError(o.name, o.url.host, o.url.port, err);
  }
  return new PostgresSource(o.name, client);
}

function connectError(name: string, host: string, port: number, err: unknown): SourceError {
  const e = err as { code?: string; message?: string };
  const why =
    e.code === '28P01' || e.code === '28000' ? `access denied (${(e.message ?? '').split('\n')[0]})`
    : e.code === 'ECONNREFUSED' ? `nothing listens at ${host}:${port}`
    : e.code === 'ENOTFOUND' ? `unknown host ${host}`
    : e.code === '3D000' ? (e.message ?? 'no such database')
    : `${host}:${port}: ${(e.message ?? String(err)).split('\n')[0]}`;
  return new SourceError(name, `cannot connect: ${why}`, { cause: err, transient: e.code === 'ECONNREFUSED' });
}

class PostgresSource implements SourceConnection {
  readonly kind = 'postgres' as const;
  constructor(
    private readonly name: string,
    private readonly client: pg.Client,
  ) {}

  async tables(schemas?: string[]): Promise<SourceTable[]> {
    const wanted = schemas?.length ? schemas : [String((await this.client.query('SELECT current_schema() AS s')).rows[0].s)];
    const cols = await this.client.query(
      `SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c, c.data_type AS dt, c.udt_name AS udt, c.numeric_precision AS p, c.numeric_scale AS sc
       FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = ANY($1) AND t.table_type = 'BASE TABLE' ORDER BY c.table_schema, c.table_name, c.ordinal_position`,
      [wanted],
    );
    // pg_index, not information_schema: the latter shows constraints only to a table's owner.
    const pks = await this.client.query(
      `SELECT n.nspname AS s, cl.relname AS t, a.attname AS c
       FROM pg_index i JOIN pg_class cl ON cl.oid = i.indrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum = k.attnum
       WHERE i.indisprimary AND n.nspname = ANY($1) ORDER BY n.nspname, cl.relname, k.ord`,
      [wanted],
    );
    const out = new Map<string, SourceTable>();
    for (const r of cols.rows as Record<string, string | null>[]) {
      const id = `${r.s}\0${r.t}`;
      if (!out.has(id)) out.set(id, { schema: r.s!, name: r.t!, columns: [], primaryKey: (pks.rows as Record<string, string>[]).filter((k) => k.s === r.s && k.t === r.t).map((k) => k.c) });
      out.get(id)!.columns.push(postgresColumn({ name: r.c!, dataType: r.dt!, udtName: r.udt!, precision: r.p === null ? null : Number(r.p), scale: r.sc === null ? null : Number(r.sc) }));
    }
    return [...out.values()];
  }

  page(request: PageRequest): AsyncIterable<TextRow> {
    const { sql, params } = pageQuery(postgresDialect, request);
    const bytea = request.table.columns.map((c) => c.sourceType === 'bytea');
    return this.stream(sql, params, (row) => row.map((v, i) => (v !== null && bytea[i] ? Buffer.from(v.slice(2), 'hex').toString('base64') : v)), request.table);
  }

  keys(table: SourceTable, pageSize: number, since?: KeyScope): AsyncIterable<TextRow> {
    return keyPages(postgresDialect, table, pageSize, since, (sql, params) => this.stream(sql, params, (r) => r, table));
  }

  private async *stream(sql: string, params: unknown[], map: (row: TextRow) => TextRow, table: SourceTable): AsyncIterable<TextRow> {
    const query = new QueryStream(sql, params, { batchSize: 256, rowMode: 'array', types: TEXT_TYPES });
    try {
      for await (const row of this.client.query(query)) yield map(row as TextRow);
    } catch (err) {
      throw new SourceError(this.name, `reading ${table.schema}.${table.name} failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
