import { afterEach, describe, expect, it } from 'vitest';
import { Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';
import { expected, HEADER, incremental, initial, yaml } from './accounts-fixture.ts';

/**
 * The crash matrix: the real CLI killed with SIGKILL at each step boundary (LAKELET_CRASH_AT), then
 * run again; the result must be exactly what one clean run gives.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const POINTS = ['after-manifest', 'after-quarantine', 'after-stage-commit', 'after-archive', 'after-target-commit', 'after-log'];

describe('crash matrix: SIGKILL at each step boundary, then restart', () => {
  for (const point of [...POINTS, 'after-stage-commit:2', 'after-target-commit:2']) {
    it(`crash ${point}`, async () => {
      const secondBatch = point.endsWith(':2');
      ws = new Workspace(yaml(secondBatch ? { batch: { maxFiles: 2 } } : {}));
      ws.land('landing/initial.csv', initial);
      ws.land('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
      ws.land('landing/incremental.csv', incremental);
      const args = ['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'];
      const crashed = await lakelet(args, { env: { LAKELET_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      const again = await lakelet(args);
      // broken.csv is in batch 1: when the restart finishes that batch, not everything went in (exit 3);
      // when the crash was in batch 2, the crashed run had already finished batch 1 and this one quarantines nothing.
      expect(again.code, again.stderr).toBe(secondBatch ? 0 : 3);
      const summary = JSON.parse(again.stdout);
      expect(summary.totals.recovered).toBe(1);
      expect(again.stderr).toContain('"event":"batch.recover"');

      // The target is exactly what one clean run gives.
      expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
      // Every source row staged exactly once.
      const stage = await ws.rows('tables/stage', '_source_file, _row_number');
      expect(stage.map((r) => `${r._source_file}#${r._row_number}`)).toEqual([...[1, 2, 3, 4].map((n) => `incremental.csv#${n}`), ...[1, 2, 3, 4].map((n) => `initial.csv#${n}`)]);
      // Each file moved exactly once; nothing left in landing.
      expect(ws.files('landing')).toEqual([]);
      expect(ws.files('archive').map((f) => f.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
      expect(ws.files('quarantine').map((f) => f.split('/').pop()).sort()).toEqual(['broken.csv', 'broken.csv.error.json']);
      // One log row per file, consistent with the outcome.
      const log = await ws.log();
      expect(log.map((r) => [r.file_name, r.status, r.records]).sort()).toEqual([
        ['broken.csv', 'quarantined', '0'],
        ['incremental.csv', 'merged', '4'],
        ['initial.csv', 'merged', '4'],
      ]);
      for (const r of log.filter((x) => x.status === 'merged')) expect(r.target_version).not.toBeNull();
      // The lock was taken over from the killed process and released.
      expect(ws.files('state/accounts')).not.toContain('lock');
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
