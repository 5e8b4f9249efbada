import mysql, { type Connection, type ConnectionOptions, type TypeCast } from 'mysql2';
import { keyPages, pageQuery } from '../page-query.ts';
import { SourceError, type KeyScope, type PageRequest, type SourceConnection, type SourceConnectOptions, type SourceTable, type TextRow } from '../source.ts';
import { mysqlDialect } from './sql.ts';
import { DATE_TYPES, isZeroDate, mysqlColumn } from './types.ts';

/**
 * Every value as text: numbers exact (no float or 53-bit rounding), dates as the server prints them;
 * bytes (the columns that land as BLOB) as base64, BIT as its unsigned number.
 */
function textCast(bytes: Set<string>): TypeCast {
  return (field) => {
    if (field.type === 'BIT') {
      const b = field.buffer();
      return b === null ? null : b.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n).toString();
    }
    if (bytes.has(field.name)) {
      const b = field.buffer();
      return b === null ? null : b.toString('base64');
    }
    return field.string('utf8');
  };
}

/**
 * MySQL and MariaDB through mysql2. Every value is read as text (numbers exact, dates as the
 * server prints them) in a session set to UTC, so TIMESTAMP values are UTC instants and DATETIME
 * values are what was stored. Rows are streamed: mysql2 pauses the socket while the consumer is busy.
 */
export async function connectMysql(o: SourceConnectOptions): Promise<SourceConnection> {
  const options: ConnectionOptions = {
    host: o.url.host,
    port: o.url.port,
    user: o.url.user,
    database: o.url.database,
    charset: 'utf8mb4',
    connectTimeout: o.connectTimeoutMs,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  };
  if (o.password !== undefined) options.password = o.password;
  if (o.tls) options.ssl = { ...(o.tls.ca ? { ca: o.tls.ca } : {}), rejectUnauthorized: o.tls.mode !== 'require' };
  const conn = mysql.createConnection(options);
  try {
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    await query(conn, "SET time_zone = '+00:00'");
  } catch (err) {
    conn.destroy();
    throw connectError(o.name, o.url.host, o.url.port, err);
  }
  return new MysqlSource(o.name, conn, o.url.database);
}

function connectError(name: string, host: string, port: number, err: unknown): SourceError {
  const e = err as { code?: string; message?: string };
  const why =
    e.code === 'ER_ACCESS_DENIED_ERROR' ? 'access denied (wrong user or password?)'
    : e.code === 'ECONNREFUSED' ? `nothing listens at ${host}:${port}`
    : e.code === 'ETIMEDOUT' ? `${host}:${port} did not answer in time`
    : e.code === 'ENOTFOUND' ? `unknown host ${host}`
    : `${host}:${port}: ${(e.message ?? String(err)).split('\n')[0]}`;
  return new SourceError(name, `cannot connect: ${why}`, { cause: err, transient: e.code === 'ETIMEDOUT' || e.code === 'ECONNREFUSED' });
}

function query<T = Record<string, unknown>>(conn: Connection, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => conn.query(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
}

class MysqlSource implements SourceConnection {
  readonly kind = 'mysql' as const;
  constructor(
    private readonly name: string,
    private readonly conn: Connection,
    private readonly database: string,
  ) {}

  async tables(schemas?: string[]): Promise<SourceTable[]> {
    const wanted = schemas?.length ? schemas : [this.database];
    const cols = await query<Record<string, string | number | null>>(
      this.conn,
      `SELECT CAST(TABLE_SCHEMA AS CHAR) AS s, TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS dt, COLUMN_TYPE AS ct, NUMERIC_PRECISION AS p, NUMERIC_SCALE AS sc, COLUMN_KEY AS k
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) AND TABLE_NAME IN (SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = COLUMNS.TABLE_SCHEMA AND TABLE_TYPE = 'BASE TABLE')
       ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
      [wanted],
    );
    const pks = await query<{ s: string; t: string; c: string }>(
      this.conn,
      `SELECT CAST(TABLE_SCHEMA AS CHAR) AS s, TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA IN (?) AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
      [wanted],
    );
    const json = await this.jsonColumns(wanted);
    const out = new Map<string, SourceTable>();
    for (const r of cols) {
      const id = `${r.s}\0${r.t}`;
      if (!out.has(id)) out.set(id, { schema: String(r.s), name: String(r.t), columns: [], primaryKey: pks.filter((k) => k.s === r.s && k.t === r.t).map((k) => k.c) });
      out.get(id)!.columns.push(
        mysqlColumn({ name: String(r.c), dataType: String(r.dt), columnType: String(r.ct), precision: r.p === null ? null : Number(r.p), scale: r.sc === null ? null : Number(r.sc), isJson: json.has(`${id}\0${r.c}`) }),
      );
    }
    return [...out.values()];
  }

  /** MariaDB declares JSON columns as LONGTEXT CHECK (json_valid(`c`)). */
  private async jsonColumns(schemas: string[]): Promise<Set<string>> {
    const rows = await query<{ s: string; t: string; cc: string }>(
      this.conn,
      `SELECT CONSTRAINT_SCHEMA AS s, TABLE_NAME AS t, CHECK_CLAUSE AS cc FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (?)`,
      [schemas],
    ).catch(() => []);
    const out = new Set<string>();
    for (const r of rows) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/.exec(r.cc.trim());
      if (m) out.add(`${r.s}\0${r.t}\0${m[1].replace(/``/g, '`')}`);
    }
    return out;
  }

  page(request: PageRequest): AsyncIterable<TextRow> {
    const { sql, params } = pageQuery(mysqlDialect, request);
    const dates = request.table.columns.map((c) => DATE_TYPES.has(c.sourceType.toLowerCase().replace(/\(.*$/, '')));
    return this.stream(sql, params, (row) => row.map((v, i) => (v !== null && dates[i] && isZeroDate(v) ? null : v)), request.table);
  }

  keys(table: SourceTable, pageSize: number, since?: KeyScope): AsyncIterable<TextRow> {
    return keyPages(mysqlDialect, table, pageSize, since, (sql, params) => this.stream(sql, params, (r) => r, table));
  }

  private async *stream(sql: string, params: unknown[], map: (row: TextRow) => TextRow, table: SourceTable): AsyncIterable<TextRow> {
    const bytes = new Set(table.columns.filter((c) => c.duckType === 'BLOB').map((c) => c.name));
    const rows = this.conn.query({ sql, values: params, rowsAsArray: true, typeCast: textCast(bytes) }).stream({ highWaterMark: 256 });
    try {
      for await (const row of rows) yield map(row as TextRow);
    } catch (err) {
      throw new SourceError(this.name, `reading ${table.schema}.${table.name} failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.conn.end(() => resolve()));
  }
}
