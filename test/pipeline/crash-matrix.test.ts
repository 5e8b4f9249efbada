import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';
import { Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';
import { CRASH_POINTS, expectOneCleanRun, HEADER, incremental, initial, yaml } from './accounts-fixture.ts';

/**
 * The crash matrix: the real CLI killed with SIGKILL at each step boundary (LAKELET_CRASH_AT), then
 * run again; the result must be exactly what one clean run gives.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

/**
 * The accounts pipeline (with `keys` changed) over initial.csv, broken.csv and incremental.csv,
 * killed at `point`, run again, and checked to be exactly one clean run's result.
 */
async function crashThenRestart(point: string, keys: PipelineKeys): Promise<Workspace> {
  const w = (ws = new Workspace(yaml(keys)));
  w.land('landing/initial.csv', initial);
  w.land('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
  w.land('landing/incremental.csv', incremental);
  const args = ['run', '--once', '-c', w.configFile, '--json', '--log-format', 'json'];
  const crashed = await lakelet(args, { env: { LAKELET_CRASH_AT: point } });
  expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
  const again = await lakelet(args);
  await expectOneCleanRun(w, again, point.endsWith(':2'), async (folder) => w.files(folder).map((f) => f.split('/').pop()!).sort());
  return w;
}

describe('crash matrix: SIGKILL at each step boundary, then restart', () => {
  for (const point of CRASH_POINTS) {
    it(`crash ${point}`, async () => {
      await crashThenRestart(point, point.endsWith(':2') ? { batch: { maxFiles: 2 } } : {});
    });
  }
});

describe('crash matrix with deletion vectors on the target: the second batch updates and deletes by DV', () => {
  // Batch 2 (incremental.csv) updates A1 and deletes A2 in the target batch 1 created: with DVs on,
  // a DV marks both rows instead of the file being rewritten. A kill before or after that commit
  // must leave exactly what one clean run gives, and the redo must not mark a row twice.
  for (const point of ['after-stage-commit:2', 'after-target-commit:2']) {
    it(`crash ${point}`, async () => {
      const w = await crashThenRestart(point, { batch: { maxFiles: 2 }, target: { path: './tables/accounts', properties: { 'delta.enableDeletionVectors': true } } });
      // The update and the delete went in as one DV over batch 1's file, not as a rewrite.
      const target = await DeltaTable.forPath(join(w.dir, 'tables/accounts'));
      try {
        const files = (await target.snapshot()).files;
        expect(files.filter((f) => f.deletionVector).map((f) => f.deletionVector!.cardinality)).toEqual([2]);
      } finally {
        target.close();
      }
    });
  }
});

describe('crash with repaired JSON: the redo repairs and stages the same rows', () => {
  for (const point of ['after-manifest', 'after-stage-commit']) {
    it(`crash ${point}`, async () => {
      ws = new Workspace(
        pipelineYaml(
          { format: 'json', json: { repair: true, path: 'customers' }, target: './tables/customers', transforms: { created_at: { epoch: 'millis' } } },
          { name: 'customers', stateDir: './state' },
        ),
      );
      ws.land('landing/etl.json', `{'customers': [{'id': 1, 'ok': True, 'created_at': 1698915678000}, {'id': 2, 'ok': None, 'created_at': 1698915679000}]}`);
      const args = ['run', '--once', '-c', ws.configFile, '--json'];
      expect((await lakelet(args, { env: { LAKELET_CRASH_AT: point } })).signal).toBe('SIGKILL');
      const again = await lakelet(args);
      expect(again.code, again.stderr).toBe(0);
      expect(await ws.rows('tables/customers', 'id')).toEqual([
        { id: '1', ok: true, created_at: '2023-11-02 09:01:18+00' },
        { id: '2', ok: null, created_at: '2023-11-02 09:01:19+00' },
      ]);
      expect((await ws.rows('tables/stage', 'id')).length).toBe(2);
      const log = await ws.log();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ status: 'merged', repaired: true, records: '2' });
      expect(ws.files('state/customers').filter((f) => f.startsWith('work'))).toEqual([]);
    });
  }
});
