// `lakelet ui` over warehouse: bigquery (bqemulator, one per file; pipeline runs and the UI server
// in-process): the tables page's schema, partitioning and row preview (paged in BigQuery, the typed
// filter sent as query parameters), history from the batch ledger, no time travel, and the files
// and pipelines pages reading the ingestion log from its BigQuery table.
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, type UiServer } from '../../src/ui/server.ts';
import { bqEmulatorAvailable, useBigQueryEmulator } from '../support/bigquery-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';
import { csv, Workspace } from '../support/workspace.ts';

const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
const bq = useBigQueryEmulator({ project: 'lakelet-test' });
let saved: string | undefined;
let ws: Workspace;
let server: UiServer;

beforeAll(async () => {
  if (bqMode === 'skip') return;
  saved = process.env.BIGQUERY_EMULATOR_HOST;
  process.env.BIGQUERY_EMULATOR_HOST = bq.emulator.endpoint;
  const dataset = `ui_${randomUUID().slice(0, 8)}`;
  ws = new Workspace(`warehouse: bigquery\nbigquery:\n  project: lakelet-test\n  dataset: ${dataset}\n  location: US\n${pipelineYaml({ partitionBy: 'day' }, { name: 'orders' })}`);
  ws.land('landing/a.csv', csv('id,name,amount,day', [[1, 'ann', 10, '2024-05-01'], [2, 'bob', 20, '2024-05-01'], [3, "o'neil", 30, '2024-05-02'], [4, 'di', 40, '2024-05-02']]));
  ws.land('landing/broken.csv', 'id,name,amount,day\n7,broken\n');
  expect((await ws.run()).totals.merged).toBe(1);
  ws.clock.advance(60_000);
  ws.land('landing/b.csv', csv('id,name,amount,day', [[2, 'Bob v2', 21, '2024-05-01'], [5, 'ed', 50, '2024-05-03']]));
  expect((await ws.run()).totals.merged).toBe(1);
  server = await startUiServer({ configFile: ws.configFile });
}, 180_000);

afterAll(async () => {
  await server?.close();
  ws?.cleanup();
  if (saved === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
  else process.env.BIGQUERY_EMULATOR_HOST = saved;
});

function get(path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: server.port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(body) }));
    })
      .on('error', reject)
      .end();
  });
}

async function json(path: string): Promise<any> {
  const r = await get(path);
  expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body;
}

const rowsOf = (page: { columns: { name: string }[]; rows: unknown[][] }) => page.rows.map((r) => Object.fromEntries(page.columns.map((c, i) => [c.name, r[i]])));
const filters = (f: unknown) => encodeURIComponent(JSON.stringify(f));

describe.skipIf(bqMode === 'skip')('lakelet ui over warehouse: bigquery (bqemulator)', () => {
  it('tables: every configured table with its BigQuery id; the target exists with its MERGE count as version', async () => {
    expect(await json('/api/overview')).toMatchObject({ warehouse: 'bigquery', timeTravel: false });
    const tables = await json('/api/tables');
    const target = tables.find((t: any) => t.id === 'orders.target');
    expect(target).toMatchObject({ exists: true, version: 2, table: expect.stringMatching(/^lakelet-test\.ui_[0-9a-f]{8}\.tables_target$/) });
    expect(tables.find((t: any) => t.id === 'orders.stage')).toMatchObject({ exists: true, version: 2 });
    expect(tables.find((t: any) => t.id === 'ingestion_log')).toMatchObject({ exists: true });
  });

  it('describe: schema from INFORMATION_SCHEMA.COLUMNS, partitioned by the date column, row count, no time travel', async () => {
    const d = await json('/api/tables/orders.target');
    expect(d).toMatchObject({ warehouse: 'bigquery', timeTravel: false, changeDataFeed: false, numRows: 5, partitionColumns: ['day'], partitioning: 'DAY(day)', version: 2 });
    expect(d.schema.map((c: any) => [c.name, c.type])).toEqual(expect.arrayContaining([['id', 'INT64'], ['name', 'STRING'], ['amount', 'INT64'], ['day', 'DATE']]));
    // No versions to read: a clear 400, not a silent latest.
    const old = await get('/api/tables/orders.target/rows?version=1');
    expect(old.status).toBe(400);
    expect(old.body.error).toMatch(/BigQuery table.*no time travel/);
  });

  it('rows: paged in BigQuery in key order; the typed filter compares as the column type; values never become SQL', async () => {
    const all = await json('/api/tables/orders.target/rows?limit=2&offset=2');
    expect(all).toMatchObject({ total: 5, offset: 2, limit: 2 });
    expect(rowsOf(all).map((r) => r.id)).toEqual(['3', '4']);
    expect(rowsOf(await json('/api/tables/orders.target/rows?limit=10')).find((r) => r.id === '2')).toMatchObject({ name: 'Bob v2', amount: '21' });
    const big = await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'amount', op: '>', value: '25' }])}`);
    expect(rowsOf(big).map((r) => r.id)).toEqual(['3', '4', '5']);
    expect(big.where).toBe('`amount` > CAST(@f0 AS INT64)');
    expect(big.params).toEqual({ f0: '25' });
    // As numbers, every amount is < 100; as text only '10' would be.
    expect((await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'amount', op: '<', value: '100' }])}`)).total).toBe(5);
    const day = await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'day', op: '=', value: '2024-05-01' }, { column: 'name', op: 'contains', value: 'BOB' }])}`);
    expect(rowsOf(day).map((r) => r.id)).toEqual(['2']);
    // A quote in a value is a value: it matches the row that has it, and nothing breaks.
    const quoted = await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'name', op: '=', value: "o'neil" }])}`);
    expect(rowsOf(quoted).map((r) => r.id)).toEqual(['3']);
    const injection = await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'name', op: '=', value: "x' OR '1'='1" }])}`);
    expect(injection.total).toBe(0);
    expect((await get(`/api/tables/orders.target/rows?filters=${filters([{ column: 'id) OR (1=1', op: '=', value: '1' }])}`)).status).toBe(400);
    // A value the column type cannot take: BigQuery's own error, as a 400.
    expect((await get(`/api/tables/orders.target/rows?filters=${filters([{ column: 'amount', op: '=', value: 'lots' }])}`)).status).toBe(400);
  });

  it('history: one MERGE per batch from the batch ledger, with its counts', async () => {
    const h = await json('/api/tables/orders.target/history');
    expect(h).toMatchObject({ timeTravel: false, sizes: [] });
    expect(h.versions.map((v: any) => [v.version, v.operation, v.operationParameters.batch, v.operationMetrics.numTargetRowsInserted, v.operationMetrics.numTargetRowsUpdated])).toEqual([
      [2, 'MERGE', 2, 1, 1],
      [1, 'MERGE', 1, 4, 0],
    ]);
    expect((await json('/api/tables/orders.target/changes?from=1')).enabled).toBe(false);
  });

  it('files and pipelines: the ingestion log from its BigQuery table; the quarantined file with its error and requeue hint', async () => {
    const log = await json('/api/files');
    expect(log.total).toBe(3);
    expect(rowsOf(await json('/api/files?q=BROK')).map((r) => [r.file_name, r.status])).toEqual([['broken.csv', 'quarantined']]);
    expect((await json('/api/files?status=merged&limit=1')).rows).toHaveLength(1);
    const detail = await json('/api/file?pipeline=orders&file=broken.csv');
    expect(detail.history.total).toBe(1);
    expect(detail.requeue.command).toMatch(/lakelet requeue .* broken\.csv/);
    const [p] = await json('/api/pipelines');
    expect(p.files).toMatchObject({ staged: 2, merged: 2, quarantined: 1, stillQuarantined: 1 });
    expect(p.runs.map((r: any) => [r.seq, r.rowsInserted, r.rowsUpdated])).toEqual([[2, 1, 1], [1, 4, 0]]);
  });
});
