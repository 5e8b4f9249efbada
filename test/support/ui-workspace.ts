import { cpSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipelineYaml } from './pipeline-yaml.ts';
import { csv, Workspace } from './workspace.ts';

/**
 * The workspace the UI tests look at, made by the real pipeline: pipeline `orders` (CSV → stage →
 * MERGE into a target with the change data feed on), three runs, so that the target has versions
 * to travel between, one file quarantined whole (`broken.csv`), one staged with a bad record left
 * out (`mixed.csv`), one file still waiting in landing, and the checked-in benchmark report.
 */
const REPO = resolve(import.meta.dirname, '..', '..');

export const UI_FIXTURE = {
  pipeline: 'orders',
  quarantined: 'broken.csv',
  mixed: 'mixed.csv',
  waiting: 'late.csv',
  /** What id 2 is called before and after run 2's MERGE. */
  before: { id: 2, name: 'bob' },
  after: { id: 2, name: 'Bob v2' },
} as const;

export async function uiWorkspace(): Promise<Workspace> {
  const ws = new Workspace(
    pipelineYaml(
      {
        target: { path: './tables/target', properties: { 'delta.enableChangeDataFeed': true } },
        transforms: { amount: { cast: 'INTEGER' } },
      },
      { name: UI_FIXTURE.pipeline },
    ),
  );
  ws.land('landing/a.csv', csv('id,name,amount,region', [[1, 'ann', 10, 'eu'], [2, 'bob', 20, 'us'], [3, 'cy', 30, 'eu'], [4, 'di', 40, 'us'], [5, 'ed', 50, 'eu']]));
  ws.land(`landing/${UI_FIXTURE.quarantined}`, 'id,name,amount,region\n7,broken\n');
  await ws.run();
  ws.clock.advance(60_000);
  ws.land('landing/b.csv', csv('id,name,amount,region', [[2, 'Bob v2', 21, 'us'], [6, 'fay', 60, 'eu']]));
  await ws.run();
  ws.clock.advance(60_000);
  const mixed = Array.from({ length: 20 }, (_, i) => [100 + i, `m${i}`, i, i % 2 ? 'eu' : 'us'] as (string | number)[]);
  mixed.splice(5, 0, [200, 'bad-amount', 'lots', 'eu']);
  ws.land(`landing/${UI_FIXTURE.mixed}`, csv('id,name,amount,region', mixed));
  await ws.run();
  ws.land(`landing/${UI_FIXTURE.waiting}`, csv('id,name,amount,region', [[9, 'zed', 90, 'us']]));
  mkdirSync(join(ws.dir, 'benchmarks', 'results'), { recursive: true });
  cpSync(join(REPO, 'benchmarks', 'results', 'example'), join(ws.dir, 'benchmarks', 'results', 'example'), { recursive: true });
  return ws;
}
