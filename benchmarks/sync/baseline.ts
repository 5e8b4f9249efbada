/**
 * The seed's approach (seed 003), as a baseline for `npm run bench:sync`: one plain
 * `SELECT * FROM t WHERE updated_at > $last` fetched whole (the seed's fetchall into a DataFrame),
 * written to a staging file, loaded into a staging table and MERGEd into a DuckDB table on the key,
 * then the metadata row updated. No paging, no lookback, no deletes, one process, one DuckDB file.
 *
 *   node --import tsx benchmarks/sync/baseline.ts <pg-url-without-password> <password> <duckdb-file> <table>
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';

const [url, password, file, table] = process.argv.slice(2);
const db = await DuckDBInstance.create(file);
const duck = await db.connect();
await duck.run('CREATE TABLE IF NOT EXISTS sync_metadata (table_name VARCHAR PRIMARY KEY, last_sync_timestamp VARCHAR, rows_synced BIGINT, updated_at TIMESTAMP)');
const last = (await duck.runAndReadAll(`SELECT last_sync_timestamp FROM sync_metadata WHERE table_name = '${table}'`)).getRows()[0]?.[0] ?? '1970-01-01 00:00:00';

const u = new URL(url);
const client = new pg.Client({ host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), database: decodeURIComponent(u.pathname.slice(1)), password, types: { getTypeParser: () => (v: string) => v } as never });
await client.connect();
const result = await client.query({ text: `SELECT * FROM ${table} WHERE updated_at > $1 ORDER BY updated_at`, values: [last], rowMode: 'array' });
await client.end();
const names = result.fields.map((f) => f.name);
const rows = result.rows as (string | null)[][];

if (rows.length > 0) {
  const staging = `${file}.stage.ndjson`;
  const out = createWriteStream(staging);
  for (const r of rows) if (!out.write(JSON.stringify(Object.fromEntries(names.map((n, i) => [n, r[i]]))) + '\n')) await once(out, 'drain');
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const types = `{'id': 'BIGINT', 'account': 'INTEGER', 'amount': 'DECIMAL(12,2)', 'note': 'VARCHAR', 'updated_at': 'TIMESTAMP'}`;
  await duck.run(`CREATE OR REPLACE TABLE stage AS SELECT * FROM read_json('${staging}', format = 'newline_delimited', columns = ${types})`);
  await duck.run(`CREATE TABLE IF NOT EXISTS target AS SELECT * FROM stage WHERE false`);
  await duck.run('MERGE INTO target USING stage ON target.id = stage.id WHEN MATCHED THEN UPDATE WHEN NOT MATCHED THEN INSERT');
  const newest = rows[rows.length - 1][names.indexOf('updated_at')];
  await duck.run(`INSERT OR REPLACE INTO sync_metadata VALUES ('${table}', '${newest}', ${rows.length}, now())`);
}
process.stdout.write(JSON.stringify({ rows: rows.length }) + '\n');
