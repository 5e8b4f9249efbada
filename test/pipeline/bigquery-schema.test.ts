// warehouse: bigquery's schema handling on the emulator, run in-process (PipelineRunner, no CLI):
// types mapped DuckDB → BigQuery → back (README, "BigQuery warehouse: types"), partitioning by a
// date column and clustering by the key, and the drift policies evolve/rescue/fail/ignore as on Delta.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { BigQueryClient } from '../../src/warehouse/bigquery/client.ts';
import { duckdbType } from '../../src/warehouse/bigquery/types.ts';
import { createTableSql } from '../../src/warehouse/bigquery/upsert.ts';
import { bqEmulatorAvailable, useBigQueryEmulator } from '../support/bigquery-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { csv, Workspace } from '../support/workspace.ts';

const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
const bq = useBigQueryEmulator({ project: 'lakelet-test' });
let saved: string | undefined;
beforeAll(() => {
  saved = process.env.BIGQUERY_EMULATOR_HOST;
  // The runner (in this process) finds the emulator as the CLI would.
  if (bqMode === 'run') process.env.BIGQUERY_EMULATOR_HOST = bq.emulator.endpoint;
});
afterAll(() => {
  if (saved === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
  else process.env.BIGQUERY_EMULATOR_HOST = saved;
});

function bigQueryWorkspace(keys: PipelineKeys): { ws: Workspace; client: BigQueryClient } {
  const dataset = `schema_${randomUUID().slice(0, 8)}`;
  const ws = new Workspace(`warehouse: bigquery\nbigquery:\n  project: lakelet-test\n  dataset: ${dataset}\n  location: US\n${pipelineYaml(keys)}`);
  return { ws, client: BigQueryClient.open({ project: 'lakelet-test', dataset, location: 'US' }, { BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint }) };
}

const target = (c: BigQueryClient, orderBy = 'id') => c.query(`SELECT * FROM ${c.table('tables_target')} ORDER BY ${orderBy}`);

/** A Parquet file with exactly these DuckDB columns (one SELECT), written by DuckDB. */
async function parquet(select: string): Promise<Uint8Array> {
  const compute = await openCompute();
  const file = join((await import('node:os')).tmpdir(), `lakelet-bq-${randomUUID()}.parquet`);
  try {
    await compute.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet)`);
    return readFileSync(file);
  } finally {
    compute.close();
    rmSync(file, { force: true });
  }
}

describe.skipIf(bqMode === 'skip')('warehouse: bigquery schema (bqemulator, in-process runs)', () => {
  it('types round trip: BOOL, INT64, NUMERIC, DATETIME vs TIMESTAMP, DATE, JSON, BYTES (DuckDB → BigQuery → DuckDB names)', async () => {
    const { ws, client } = bigQueryWorkspace({ format: 'parquet', pattern: '*.parquet' });
    try {
      ws.land(
        'landing/types.parquet',
        await parquet(
          `SELECT 1::BIGINT AS id, TRUE AS ok, 12345.5::DECIMAL(20,9) AS num, ` +
            `TIMESTAMP '2024-05-01 10:00:00' AS wall, TIMESTAMPTZ '2024-05-01 10:00:00+02' AS instant, DATE '2024-05-01' AS day, ` +
            `'{"a":[1,2]}'::JSON AS doc, '\\xAA\\xBB'::BLOB AS raw`,
        ),
      );
      expect((await ws.run()).totals.merged).toBe(1);
      const cols = (await client.columns('tables_target'))!;
      expect(cols.map((c) => [c.name, c.type])).toEqual([
        ['id', 'INT64'], ['ok', 'BOOL'], ['num', 'NUMERIC'], ['wall', 'DATETIME'], ['instant', 'TIMESTAMP'], ['day', 'DATE'], ['doc', 'JSON'], ['raw', 'BYTES'],
      ]);
      // And back: what lakelet's checks see when they read the target's schema.
      expect(cols.map((c) => duckdbType(c.type))).toEqual(['BIGINT', 'BOOLEAN', 'DECIMAL(38,9)', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'DATE', 'JSON', 'BLOB']);
      const [row] = await client.query(
        `SELECT id, ok, num = NUMERIC '12345.5' AS num, CAST(wall AS STRING) AS wall, UNIX_MILLIS(instant) AS instant, CAST(day AS STRING) AS day, TO_JSON_STRING(doc) AS doc, TO_HEX(raw) AS raw FROM ${client.table('tables_target')}`,
      );
      // DATETIME keeps the wall-clock time as written; TIMESTAMP the instant (10:00 at +02 is 08:00 UTC).
      expect(row).toEqual({ id: '1', ok: true, num: true, wall: '2024-05-01 10:00:00', instant: String(Date.UTC(2024, 4, 1, 8)), day: '2024-05-01', doc: '{"a":[1,2]}', raw: 'aabb' });
    } finally {
      ws.cleanup();
    }
  });

  it('emulator gap: NUMERIC keeps 3 decimal places on bqemulator (real BigQuery: 9), so the round trip above uses one', async () => {
    // NUMERIC is DECIMAL(38,9) in BigQuery; bqemulator stores it with DuckDB's default scale 3. When
    // this fails, the emulator learned it: give the round trip a 9-digit scale.
    const { ws, client } = bigQueryWorkspace({ format: 'parquet', pattern: '*.parquet' });
    try {
      ws.land('landing/n.parquet', await parquet(`SELECT 1::BIGINT AS id, 12345.678901234::DECIMAL(20,9) AS num`));
      expect((await ws.run()).totals.merged).toBe(1);
      expect((await client.columns('tables_target'))!.find((c) => c.name === 'num')!.type).toBe('NUMERIC');
      expect(await client.query(`SELECT CAST(num AS STRING) AS num FROM ${client.table('tables_target')}`)).toEqual([{ num: '12345.679' }]);
    } finally {
      ws.cleanup();
    }
  });

  it('emulator gap: a BIGNUMERIC column (DuckDB DECIMAL wider than NUMERIC) does not load on bqemulator (its DECIMAL stops at 38 digits); real BigQuery loads it', async () => {
    // lakelet maps the column to BIGNUMERIC (types.ts) — real BigQuery takes Parquet DECIMAL(38,1)
    // into BIGNUMERIC. bqemulator turns BIGNUMERIC into a DuckDB DECIMAL(76,38) and its load fails.
    // When this test starts failing, the emulator learned it: make it the round trip above.
    const { ws } = bigQueryWorkspace({ format: 'parquet', pattern: '*.parquet' });
    try {
      ws.land('landing/big.parquet', await parquet(`SELECT 1::BIGINT AS id, 1234567890123456789012345678901.5::DECIMAL(38,1) AS big`));
      await expect(ws.run()).rejects.toThrow(/load job .* failed .*DECIMAL type width must be between 1 and 38/);
    } finally {
      ws.cleanup();
    }
  });

  it('partitionBy a DATE column and clustering by the key: the target is created with both (emulator gap: its metadata shows no clustering, so the CREATE is checked as written)', async () => {
    const { ws, client } = bigQueryWorkspace({ format: 'parquet', pattern: '*.parquet', partitionBy: 'day' });
    try {
      ws.land('landing/1.parquet', await parquet(`SELECT 1::BIGINT AS id, DATE '2024-05-01' AS day UNION ALL SELECT 2, DATE '2024-05-02'`));
      expect((await ws.run()).totals.merged).toBe(1);
      expect(await target(client)).toEqual([{ id: '1', day: '2024-05-01' }, { id: '2', day: '2024-05-02' }]);
      const [meta] = await client.bq.dataset(client.settings.dataset).table('tables_target').getMetadata();
      expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'day' });
      // Real BigQuery reports clustering { fields: ['id'] } here; bqemulator accepts CLUSTER BY and
      // reports nothing, so the clustering is checked in the CREATE lakelet wrote.
      expect(meta.clustering).toBeUndefined();
      expect(createTableSql({ client, target: 'tables_target' }, { key: ['id'], partitionBy: ['day'] }, [{ name: 'id', type: 'INT64' }, { name: 'day', type: 'DATE' }])).toMatch(/PARTITION BY `day` CLUSTER BY `id`$/);
    } finally {
      ws.cleanup();
    }
  });

  it('partitionBy a column that is not a date/time: a clear error naming it, nothing created', async () => {
    const { ws, client } = bigQueryWorkspace({ partitionBy: 'n' });
    try {
      ws.land('landing/1.csv', csv('id,n', [[1, 10]]));
      await expect(ws.run()).rejects.toThrow(/partitions a table by one DATE, TIMESTAMP or DATETIME column; partitionBy is n \(n is INT64\)/);
      expect(await client.columns('tables_target')).toBeUndefined();
    } finally {
      ws.cleanup();
    }
  });
});

/** drift.test.ts's two batches against BigQuery: the first file sets the columns, the second brings `extra` (and an uncastable n). */
describe.skipIf(bqMode === 'skip')('warehouse: bigquery schema drift (as on Delta)', () => {
  async function twoBatches(policy: string, second = csv('id,n,extra', [[2, 20, 'e2']])) {
    const made = bigQueryWorkspace({ schemaDrift: policy });
    made.ws.land('landing/1.csv', csv('id,n', [[1, 10]]));
    await made.ws.run();
    made.ws.land('landing/2.csv', second);
    await made.ws.run();
    return made;
  }

  it('evolve: the new column is added to the target (ALTER TABLE ADD COLUMN)', async () => {
    const { ws, client } = await twoBatches('evolve');
    try {
      expect(await target(client)).toEqual([{ id: '1', n: '10', extra: null }, { id: '2', n: '20', extra: 'e2' }]);
    } finally {
      ws.cleanup();
    }
  });

  it('ignore: the new column is dropped', async () => {
    const { ws, client } = await twoBatches('ignore');
    try {
      expect(await target(client)).toEqual([{ id: '1', n: '10' }, { id: '2', n: '20' }]);
    } finally {
      ws.cleanup();
    }
  });

  it('fail: the file with a new column is quarantined, the target unchanged', async () => {
    const { ws, client } = await twoBatches('fail');
    try {
      expect(await target(client)).toEqual([{ id: '1', n: '10' }]);
      expect(ws.files('quarantine').some((f) => f.endsWith('2.csv.error.json'))).toBe(true);
    } finally {
      ws.cleanup();
    }
  });

  it('rescue: the new column and an uncastable value go into _rescued_data, counted in the log', async () => {
    const { ws, client } = await twoBatches('rescue', csv('id,n,extra', [[2, 20, 'e2'], [3, 'oops', 'e3']]));
    try {
      expect((await target(client)).map((r) => [r.id, r.n, r._rescued_data])).toEqual([
        ['1', '10', null],
        ['2', '20', '{"extra":"e2"}'],
        ['3', null, '{"n":"oops","extra":"e3"}'],
      ]);
      expect((await ws.log()).find((r) => r.file_name === '2.csv')).toMatchObject({ status: 'merged', rows_rescued: '2' });
    } finally {
      ws.cleanup();
    }
  });
});
