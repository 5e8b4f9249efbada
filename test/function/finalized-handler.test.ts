import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { cloudLog } from '../../src/function/cloud-logging.ts';
import { FunctionSetupError } from '../../src/function/errors.ts';
import { handleFinalized } from '../../src/function/finalized-handler.ts';
import { parseConfig } from '../../src/pipeline/config.ts';
import { lakeletYaml, PIPELINE_DEFAULTS } from '../support/pipeline-yaml.ts';

// What the handler decides before it touches a store (the runs themselves: test/pipeline/gcs-function.test.ts).
describe('the finalize handler, before any store is read', () => {
  let compute: Compute;
  beforeAll(async () => {
    compute = await openCompute();
  });
  afterAll(() => compute.close());

  const config = (keys: Record<string, unknown> = {}, stateDir = './state') =>
    parseConfig(lakeletYaml({ orders: { ...PIPELINE_DEFAULTS, pattern: '*.csv', landing: 'gs://lake/landing', ...keys } }, { stateDir }), '/work/site/lakelet.yml');
  const run = (cfg: ReturnType<typeof config>, name: string, ephemeralDisk = false) => {
    const lines: Record<string, unknown>[] = [];
    const log = cloudLog((l) => lines.push(JSON.parse(l) as Record<string, unknown>)).with({ eventId: 'e1' });
    return { lines, result: handleFinalized({ eventId: 'e1', bucket: 'lake', name, generation: '1' }, { config: cfg, compute, log, ephemeralDisk }) };
  };

  it('an object outside every landing, or not a data file of its pipeline: acknowledged with a Cloud Logging line saying why', async () => {
    const a = run(config(), 'exports/a.csv');
    expect(await a.result).toEqual({ object: 'gs://lake/exports/a.csv', claimed: false, outcomes: [] });
    expect(a.lines).toEqual([expect.objectContaining({ severity: 'INFO', eventId: 'e1', outcome: 'unclaimed', message: expect.stringMatching(/^gs:\/\/lake\/exports\/a\.csv: no pipeline in \/work\/site\/lakelet\.yml has a landing holding this object \(gs:\/\/ landings: gs:\/\/lake\/landing\); acknowledged/) })]);
    for (const name of ['landing/a.csv.part', 'landing/.a.csv', 'landing/a.json', 'landing/_SUCCESS']) {
      const b = run(config(), name);
      expect((await b.result).outcomes, name).toEqual([{ pipeline: 'orders', outcome: 'ignored', reason: expect.stringContaining("not a data file of pipeline orders (its pattern is '*.csv'") }]);
      expect(b.lines[0]).toMatchObject({ severity: 'INFO', pipeline: 'orders', outcome: 'ignored' });
    }
  });

  it('on Cloud Run (an instance disk that goes with the instance), refuses state or tables on a local path, naming each, instead of running', async () => {
    const local = run(config(), 'landing/a.csv', true);
    await expect(local.result).rejects.toThrow(FunctionSetupError);
    await expect(run(config(), 'landing/a.csv', true).result).rejects.toThrow(
      /stateDir \/work\/site\/state, ingestionLog \/work\/site\/state\/ingestion_log, pipelines\.orders\.stage \/work\/site\/tables\/stage, .*pipelines\.orders\.quarantine \/work\/site\/quarantine\. Put them on gs:\/\//,
    );
    // Off Cloud Run the same config is fine; an ignored object needs no durable state either way.
    expect((await run(config(), 'landing/a.tmp', true).result).outcomes[0].outcome).toBe('ignored');
  });
});
