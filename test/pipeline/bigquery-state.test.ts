// Committed state and changedOnly in warehouse: bigquery (what database sources need from the
// Warehouse seam), in-process against bqemulator: a state written with batch N's MERGE is read back
// (by the same warehouse and by a fresh one), a MERGE that fails before its COMMIT leaves neither
// data nor state, changedOnly neither rewrites nor counts unchanged rows; and a real `lakelet sync`
// from PostgreSQL into BigQuery (syncSources in-process, as sync-postgres.test.ts does for Delta).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/adapters/clock.ts';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { LocalObjectStore } from '../../src/adapters/storage/local/local-object-store.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import { syncSources } from '../../src/pipeline/sync/sync-runner.ts';
import { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.ts';
import { openWarehouse } from '../../src/warehouse/open-warehouse.ts';
import type { PipelineTables, UpsertSpec } from '../../src/warehouse/warehouse.ts';
import { bqEmulatorAvailable, useBigQueryEmulator } from '../support/bigquery-emulator.ts';
import { postgresAvailable, usePostgres } from '../support/db-servers.ts';
import { requirePeer } from '../support/peers.ts';
import { lakelet } from '../support/cli.ts';

const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
const pgMode = requirePeer('postgres', postgresAvailable);
const bq = useBigQueryEmulator({ project: 'lakelet-test' });
const pg = usePostgres();
let compute: Compute;
let dir: string;
let savedHost: string | undefined;
beforeAll(async () => {
  compute = await openCompute();
  dir = mkdtempSync(join(tmpdir(), 'lakelet-bq-state-'));
  savedHost = process.env.BIGQUERY_EMULATOR_HOST;
  if (bqMode === 'run') process.env.BIGQUERY_EMULATOR_HOST = bq.emulator.endpoint;
});
afterAll(() => {
  compute?.close();
  rmSync(dir, { recursive: true, force: true });
  if (savedHost === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
  else process.env.BIGQUERY_EMULATOR_HOST = savedHost;
});

const settings = () => ({ project: 'lakelet-test', dataset: `state_${randomUUID().slice(0, 8)}`, location: 'US' });
const open = (s: ReturnType<typeof settings>) => new BigQueryWarehouse(s, { compute, clock: systemClock, baseDir: dir });
const tablesOf = (w: BigQueryWarehouse) => w.pipelineTables({ name: 'sync.pg.items', stage: 'stage/items', target: 'lake/items', stageProperties: {}, targetProperties: {}, stateDir: join(dir, 'state'), tombstones: false });

/** A batch's stage rows (lineage included) as one Parquet file, written by DuckDB. */
async function stageBatch(tables: PipelineTables, seq: number, rows: [number, string, string | null][]) {
  const file = `batch-${seq}-${randomUUID().slice(0, 6)}.parquet`;
  const values = rows.map(([id, name, doc], i) => `(${id}, ${sqlString(name)}, ${doc === null ? 'NULL' : `${sqlString(doc)}::JSON`}, ${i})`).join(', ');
  await compute.run(
    `COPY (SELECT id::BIGINT AS id, name::VARCHAR AS name, doc, ${seq}::BIGINT AS _batch, 'pg:items' AS _source_file, TIMESTAMPTZ '2026-01-01 00:00:00+00' AS _ingested_at, r::BIGINT AS _row_number ` +
      `FROM (VALUES ${values}) v(id, name, doc, r)) TO ${sqlString(join(dir, file))} (FORMAT parquet)`,
  );
  return tables.stage({ seq, files: [{ store: new LocalObjectStore(dir), key: file }], addColumns: true });
}

const spec = (seq: number, value: string, extra: Partial<UpsertSpec> = {}): UpsertSpec => ({ seq, key: ['id'], partitionBy: [], fileOrder: ['pg:items'], addColumns: true, changedOnly: true, state: { key: 'sync', value }, ...extra });

describe.skipIf(bqMode === 'skip')('warehouse: bigquery committed state and changedOnly (bqemulator, in-process)', () => {
  it('the state committed with batch N is read back; a MERGE that fails before COMMIT leaves neither data nor state; a redo applies both once', async () => {
    const s = settings();
    const w = open(s);
    const tables = await tablesOf(w);
    expect(await tables.committedState('sync')).toBeUndefined();
    await stageBatch(tables, 1, [[1, 'a', '{"k":1}'], [2, 'b', null]]);
    const first = await tables.upsert(spec(1, '{"seq":1}'));
    expect(first.metrics).toMatchObject({ inserted: 2, updated: 0 });
    expect(await tables.committedState('sync')).toBe('{"seq":1}');
    // A fresh process (no cache) reads the same row from _lakelet_state.
    expect(await (await tablesOf(open(s))).committedState('sync')).toBe('{"seq":1}');

    // Batch 2's script dies between its MERGE (and state write) and its COMMIT: BigQuery rolls the
    // transaction back. The fault is injected into the real script the warehouse sends.
    await stageBatch(tables, 2, [[1, 'a2', '{"k":1}'], [3, 'c', null]]);
    const query = w.client.query.bind(w.client);
    w.client.query = ((sql: string, what?: string) => query(sql.includes('MERGE ') ? sql.replace('COMMIT TRANSACTION', "SELECT ERROR('crash before COMMIT');\nCOMMIT TRANSACTION") : sql, what)) as typeof w.client.query;
    await expect(tables.upsert(spec(2, '{"seq":2}'))).rejects.toThrow(/crash before COMMIT/);
    w.client.query = query as typeof w.client.query;
    const target = () => w.client.query(`SELECT id, name FROM ${w.client.table('lake_items')} ORDER BY id`);
    expect(await target()).toEqual([{ id: '1', name: 'a' }, { id: '2', name: 'b' }]);
    expect(await tables.committedState('sync')).toBe('{"seq":1}');
    expect(await (await tablesOf(open(s))).committedState('sync')).toBe('{"seq":1}');
    expect(await tables.ledger.targetVersion(2)).toBeUndefined();

    // The redo (what sync-table does with its pending batch) commits data and state together, once.
    const redo = await tables.upsert(spec(2, '{"seq":2}'));
    expect(redo).toMatchObject({ skipped: false, metrics: { inserted: 1, updated: 1 } });
    expect(await target()).toEqual([{ id: '1', name: 'a2' }, { id: '2', name: 'b' }, { id: '3', name: 'c' }]);
    expect(await tables.committedState('sync')).toBe('{"seq":2}');
    expect(await (await tablesOf(open(s))).committedState('sync')).toBe('{"seq":2}');
    // A second redo changes nothing (the ledger row guards data and state alike).
    expect(await tables.upsert(spec(2, '{"seq":"other"}'))).toMatchObject({ skipped: true });
    expect(await (await tablesOf(open(s))).committedState('sync')).toBe('{"seq":2}');
    const states = await w.client.query(`SELECT pipeline, key, value FROM ${w.client.table('_lakelet_state')}`);
    expect(states).toEqual([{ pipeline: 'sync.pg.items', key: 'sync', value: '{"seq":2}' }]);
  });

  it('changedOnly: unchanged rows (NULL and JSON columns included) are neither updated nor counted; without it they are', async () => {
    const s = settings();
    const w = open(s);
    const tables = await tablesOf(w);
    await stageBatch(tables, 1, [[1, 'a', '{"k":1}'], [2, 'b', null], [3, 'c', '{"k":3}']]);
    await tables.upsert(spec(1, '1'));
    // Re-read (a sync's lookback): 1 and 2 as they are, 3's JSON changed, 2's NULL stays NULL.
    await stageBatch(tables, 2, [[1, 'a', '{"k":1}'], [2, 'b', null], [3, 'c', '{"k":4}']]);
    expect((await tables.upsert(spec(2, '2'))).metrics).toMatchObject({ inserted: 0, updated: 1, deleted: 0 });
    // A NULL that becomes a value and a value that becomes NULL are changes (NULL-safe comparison).
    await stageBatch(tables, 3, [[1, 'a', null], [2, 'b', '{"k":2}'], [3, 'c', '{"k":4}']]);
    expect((await tables.upsert(spec(3, '3'))).metrics).toMatchObject({ inserted: 0, updated: 2 });
    const rows = await w.client.query(`SELECT id, name, TO_JSON_STRING(doc) AS doc FROM ${w.client.table('lake_items')} ORDER BY id`);
    expect(rows).toEqual([{ id: '1', name: 'a', doc: null }, { id: '2', name: 'b', doc: '{"k":2}' }, { id: '3', name: 'c', doc: '{"k":4}' }]);
    // Without changedOnly the same re-read counts every matched row.
    await stageBatch(tables, 4, [[1, 'a', null], [2, 'b', '{"k":2}']]);
    expect((await tables.upsert(spec(4, '4', { changedOnly: false }))).metrics).toMatchObject({ updated: 2 });
  });
});

describe.skipIf(bqMode === 'skip' || pgMode === 'skip')('lakelet sync from PostgreSQL into warehouse: bigquery', () => {
  it('syncs incrementally; the watermark lives in _lakelet_state; an unchanged re-read (lookback) updates nothing', async () => {
    await pg.server.admin(
      `CREATE TABLE items (id bigint PRIMARY KEY, name text, doc jsonb, updated_at timestamptz NOT NULL);
       INSERT INTO items VALUES (1, 'a', '{"k": 1}', '2024-06-01 12:00:00+00'), (2, 'b', NULL, '2024-06-01 12:00:01+00')`,
    );
    const s = settings();
    const ws = mkdtempSync(join(dir, 'sync-'));
    const yml = join(ws, 'lakelet.yml');
    writeFileSync(yml, `sources:\n  pg:\n    url: ${pg.server.url()}\n    passwordEnv: PG_PW\n    tables: [items]\n    target: ./lake\n    lookback: 1h\n`);
    process.env.PG_PW = 'admin-pw';
    const sync = () => syncSources(loadConfig(yml), { warehouse: openWarehouse({ warehouse: 'bigquery', file: yml, bigquery: s }, { compute }), compute, clock: systemClock, reporter: silentReporter });
    const first = await sync();
    expect(first.failed).toEqual([]);
    expect(first.synced[0]).toMatchObject({ rowsRead: 2, inserted: 2, watermark: { value: '2024-06-01 12:00:01+00', key: ['2'] } });
    await pg.server.admin(`UPDATE items SET name = 'b2', updated_at = '2024-06-01 12:00:02+00' WHERE id = 2; INSERT INTO items VALUES (3, 'c', '{"k": 3}', '2024-06-01 12:00:03+00')`);
    // The lookback re-reads 1 (unchanged): changedOnly leaves it alone.
    const second = await sync();
    expect(second.failed).toEqual([]);
    expect(second.synced[0]).toMatchObject({ rowsRead: 3, inserted: 1, updated: 1, watermark: { value: '2024-06-01 12:00:03+00', key: ['3'] } });
    const w = open(s);
    expect(await w.client.query(`SELECT id, name FROM ${w.client.table('lake_items')} ORDER BY id`)).toEqual([{ id: '1', name: 'a' }, { id: '2', name: 'b2' }, { id: '3', name: 'c' }]);
    const [state] = await w.client.query<{ pipeline: string; value: string }>(`SELECT pipeline, value FROM ${w.client.table('_lakelet_state')}`);
    expect(state.pipeline).toBe('sync.pg.items');
    expect(JSON.parse(state.value)).toMatchObject({ seq: 2, watermark: { value: '2024-06-01 12:00:03+00' } });

    // The same through the command line, whose lakelet.yml names the warehouse: the commands must
    // open BigQuery with its settings (sync and status once opened it without them), and status
    // must find the synced tables in BigQuery's committed states (there is no local target folder).
    const cliYml = join(ws, 'lakelet-bq.yml');
    writeFileSync(cliYml, `warehouse: bigquery\nbigquery:\n  project: ${s.project}\n  dataset: ${s.dataset}\n  location: ${s.location}\n` + readFileSync(yml, 'utf8'));
    await pg.server.admin(`INSERT INTO items VALUES (4, 'd', NULL, '2024-06-01 12:00:04+00')`);
    const env = { PG_PW: 'admin-pw', BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint };
    const run = await lakelet(['sync', '-c', cliYml, '--json', '--quiet'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).synced[0]).toMatchObject({ table: 'items', inserted: 1, watermark: { value: '2024-06-01 12:00:04+00' } });
    const status = await lakelet(['status', '-c', cliYml, '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).sources).toEqual([{ source: 'pg', tables: [expect.objectContaining({ table: 'items', watermark: '2024-06-01 12:00:04+00', batch: 3 })] }]);
    expect(existsSync(join(ws, 'lake'))).toBe(false);
  });
});
