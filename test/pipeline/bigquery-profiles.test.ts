// One pipeline, two profiles (issue 11): seed 000's accounts job in one lakelet.yml runs on the local
// Delta warehouse (the file as written) and on BigQuery (`--profile bigquery`: only warehouse,
// bigquery: and stateDir change) over the same files; the final target rows must be equal.
// In-process runs (PipelineRunner), the BigQuery emulator for the second profile.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/pipeline/config.ts';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { BigQueryClient } from '../../src/warehouse/bigquery/client.ts';
import { bqEmulatorAvailable, useBigQueryEmulator } from '../support/bigquery-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { Workspace } from '../support/workspace.ts';
import { expected, incremental, initial, yaml } from './accounts-fixture.ts';

const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
const bq = useBigQueryEmulator({ project: 'lakelet-test' });
const saved = process.env.BIGQUERY_EMULATOR_HOST;
beforeAll(() => {
  if (bqMode === 'run') process.env.BIGQUERY_EMULATOR_HOST = bq.emulator.endpoint;
});
afterAll(() => {
  if (saved === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
  else process.env.BIGQUERY_EMULATOR_HOST = saved;
});

describe.skipIf(bqMode === 'skip')('one lakelet.yml, two profiles: Delta (local) and BigQuery', () => {
  let ws: Workspace | undefined;
  afterEach(() => ws?.cleanup());

  it('seed 000 on the same files by profile only: the target rows on Delta and in BigQuery are equal', async () => {
    const dataset = `profiles_${randomUUID().slice(0, 8)}`;
    ws = new Workspace(`${yaml()}profiles:\n  bigquery:\n    warehouse: bigquery\n    bigquery: { project: lakelet-test, dataset: ${dataset}, location: US }\n    stateDir: ./state-bigquery\n`);
    const w = ws;
    const run = async (profile?: string) => {
      const runner = await PipelineRunner.open(parseConfig(w.yaml, w.configFile, profile ? { profile } : {}), { clock: w.clock });
      try {
        return await runner.runAll();
      } finally {
        await runner.close();
      }
    };
    // Each profile takes the same two deliveries, one batch each (the files are archived after a run, so landed again).
    for (const profile of [undefined, 'bigquery']) {
      for (const [name, content] of [['initial.csv', initial], ['incremental.csv', incremental]]) {
        w.land(`landing/${name}`, content);
        expect((await run(profile)).totals.merged).toBe(1);
      }
    }
    const delta = await w.rows('tables/accounts', 'account_number');
    const client = BigQueryClient.open({ project: 'lakelet-test', dataset, location: 'US' }, { BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint });
    const cols = 'customer_id, account_number, credit_score, account_balance, last_modified';
    // As the Delta read gives them: DATETIME with a space, the DOUBLE balance as a number.
    const bigquery = (await client.query(`SELECT ${cols} FROM ${client.table('tables_accounts')} ORDER BY account_number`)).map((r) => ({
      ...r,
      account_balance: Number(r.account_balance),
      last_modified: String(r.last_modified).replace('T', ' '),
    }));
    expect(delta).toEqual(expected);
    expect(bigquery).toEqual(delta);
    // The BigQuery profile kept its own batch state (stateDir) and its ledger in the dataset.
    const ledger = await client.query(`SELECT role, batch FROM ${client.table('_lakelet_batches')} WHERE role = 'target' ORDER BY batch`);
    expect(ledger.map((r) => Number(r.batch))).toEqual([1, 2]);
  });
});
