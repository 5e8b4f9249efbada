// The pipeline with `warehouse: bigquery` against the BigQuery emulator (bqemulator), through the
// real CLI with BIGQUERY_EMULATOR_HOST: load job → per-batch staging table → MERGE + ledger row in one
// transaction; the same exactly-once rules and crash matrix as on Delta (crash-matrix.test.ts).
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BigQueryClient } from '../../src/warehouse/bigquery/client.ts';
import { tableIdFor } from '../../src/warehouse/bigquery/bigquery-warehouse.ts';
import { lakelet } from '../support/cli.ts';
import { bqEmulatorAvailable, useBigQueryEmulator } from '../support/bigquery-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { Workspace } from '../support/workspace.ts';
import { CRASH_POINTS, expected, expectOneCleanRun, HEADER, incremental, initial, yaml } from './accounts-fixture.ts';

const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
const bq = useBigQueryEmulator({ project: 'lakelet-test' });

beforeAll(() => {
  // The test process reads the log through openIngestionLog as the CLI does: same variable.
  if (bqMode === 'run') process.env.BIGQUERY_EMULATOR_HOST = bq.emulator.endpoint;
});

/** A workspace whose lakelet.yml puts the accounts pipeline's tables in a fresh dataset. */
function bigQueryWorkspace(keys: Record<string, unknown> = {}): { ws: Workspace; client: BigQueryClient; dataset: string } {
  const dataset = `run_${randomUUID().slice(0, 8)}`;
  const ws = new Workspace(`warehouse: bigquery\nbigquery:\n  project: lakelet-test\n  dataset: ${dataset}\n  location: US\n${yaml(keys)}`);
  return { ws, client: BigQueryClient.open({ project: 'lakelet-test', dataset, location: 'US' }, { BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint }), dataset };
}

/** Rows as the Delta reads give them (DATETIME with a space, numbers as in the JSON rows): comparable with accounts-fixture's. */
function readers(ws: Workspace, client: BigQueryClient): Pick<Workspace, 'rows' | 'log'> {
  const norm = (r: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(v) ? v.replace('T', ' ') : k === 'account_balance' ? Number(v) : v]));
  return {
    async rows(table: string, orderBy: string) {
      const id = tableIdFor(table, ws.dir);
      const ids = table === 'tables/stage' ? (await client.tablesStartingWith(`${id}__batch_`)) : (await client.columns(id)) ? [id] : [];
      if (ids.length === 0) return [];
      const cols = table === 'tables/stage' ? '_source_file, _row_number' : 'customer_id, account_number, credit_score, account_balance, last_modified';
      const rows = await client.query(`SELECT ${cols} FROM (${ids.map((i) => `SELECT ${cols} FROM ${client.table(i)}`).join(' UNION ALL ')}) ORDER BY ${orderBy}`);
      return rows.map(norm);
    },
    log: (pipeline?: string) => ws.log(pipeline),
  };
}

describe.skipIf(bqMode === 'skip')('pipelines into BigQuery (bqemulator, real CLI)', () => {
  let ws: Workspace | undefined;
  afterEach(() => ws?.cleanup());
  const env = () => ({ BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint });

  it('seed 000: load job, MERGE (newer wins, delete marker, insert), ledger and ingestion log as BigQuery tables; a second run applies nothing', async () => {
    const made = bigQueryWorkspace();
    ws = made.ws;
    const args = ['run', '--once', '-c', ws.configFile, '--json', '--quiet'];
    // Two runs, two batches: the second MERGE meets rows the first one wrote.
    for (const [name, content] of [['initial.csv', initial], ['incremental.csv', incremental]]) {
      ws.land(`landing/${name}`, content);
      const run = await lakelet(args, { env: env() });
      expect(run.code, run.stderr).toBe(0);
    }
    const read = readers(ws, made.client);
    expect(await read.rows('tables/accounts', 'account_number')).toEqual(expected);
    const ledger = await made.client.query<{ role: string; batch: string; inserted: string | null; deleted: string | null; updated: string | null }>(
      'SELECT role, batch, inserted, updated, deleted FROM ' + made.client.table('_lakelet_batches') + ' ORDER BY batch, role',
    );
    expect(ledger.map((r) => [r.role, Number(r.batch)])).toEqual([['log', 1], ['stage', 1], ['target', 1], ['log', 2], ['stage', 2], ['target', 2]]);
    // Batch 2: A1 updated, A2 deleted, A5 inserted, A3's older row ignored.
    expect(ledger.filter((r) => r.role === 'target').map((r) => [Number(r.inserted), Number(r.updated), Number(r.deleted)])).toEqual([[4, 0, 0], [1, 1, 1]]);
    const log = await read.log();
    expect(log.map((r) => [r.file_name, r.status, String(r.records), r.load_path])).toEqual([['initial.csv', 'merged', '4', 'in-process'], ['incremental.csv', 'merged', '4', 'in-process']]);
    // The same bytes again: a duplicate, nothing merged twice.
    ws.land('landing/again.csv', incremental);
    const again = await lakelet(args, { env: env() });
    expect(again.code, again.stderr).toBe(0);
    expect(await read.rows('tables/accounts', 'account_number')).toEqual(expected);
    expect((await read.log()).map((r) => r.status)).toEqual(['merged', 'merged', 'duplicate']);
  });
});

/**
 * crash-matrix.test.ts against BigQuery: SIGKILL at each step boundary, then run again; exactly one
 * clean run's result. Every CRASH_POINT runs, each in a dataset and workspace of its own, two at a
 * time on the file's one emulator: a point is two CLI runs of mostly waiting (process start-up and
 * BigQuery jobs), so two overlap well on two cores.
 */
const twoAtATime = limit(2);
describe.skipIf(bqMode === 'skip')('crash matrix with warehouse: bigquery (every crash point)', { concurrent: true, timeout: 600_000 }, () => {
  for (const point of CRASH_POINTS) {
    it(`crash ${point}`, () => twoAtATime(async () => {
      const secondBatch = point.endsWith(':2');
      const { ws, client } = bigQueryWorkspace(secondBatch ? { batch: { maxFiles: 2 } } : {});
      try {
        ws.land('landing/initial.csv', initial);
        ws.land('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
        ws.land('landing/incremental.csv', incremental);
        const env = { BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint };
        const args = ['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'];
        const crashed = await lakelet(args, { env: { ...env, LAKELET_CRASH_AT: point } });
        expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
        const again = await lakelet(args, { env });
        const local = (folder: string) => ws.files(folder).map((f) => f.split('/').pop()!).sort();
        await expectOneCleanRun(ws, again, secondBatch, async (folder) => local(folder), readers(ws, client));
      } finally {
        ws.cleanup();
      }
    }));
  }
});

/** Runs at most `n` of the given tasks at once (the tests start together; the rest wait their turn). */
function limit(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
