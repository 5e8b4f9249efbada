import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';

/** Stage tables do not grow forever (issue 8, point 8). */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (stage: PipelineKeys['stage'], keys: PipelineKeys = {}) => pipelineYaml({ pattern: '*.csv', stage, ...keys }, { stateDir: './state' });

const parquetFiles = (w: Workspace) => readdirSync(join(w.dir, 'tables/stage'), { recursive: true }).filter((f) => String(f).endsWith('.parquet')).length;
const batches = async (w: Workspace) => [...new Set((await w.rows('tables/stage', '_batch')).map((r) => Number(r._batch)))];

describe('stage retention', () => {
  it('truncate-after-merge: merged batches leave the stage and their files are vacuumed; the target keeps every row', async () => {
    ws = new Workspace(yaml({ path: './tables/stage', retain: 'truncate-after-merge' }));
    // VACUUM compares data files' modification times (the file system's clock) with the clock.
    ws.clock.set(Date.now() + 60_000);
    ws.land('landing/a.csv', csv('id,v', [[1, 'a'], [2, 'b']]));
    await ws.run();
    ws.land('landing/b.csv', csv('id,v', [[3, 'c']]));
    await ws.run();
    expect(await batches(ws)).toEqual([]);
    expect(parquetFiles(ws)).toBe(0);
    expect((await ws.rows('tables/target', 'id')).map((r) => Number(r.id))).toEqual([1, 2, 3]);
  });

  it('a duration keeps batches younger than it (by the injected clock), removes older ones', async () => {
    ws = new Workspace(yaml({ path: './tables/stage', retain: '2d' }));
    ws.land('landing/a.csv', csv('id,v', [[1, 'a']]));
    await ws.run();
    ws.clock.advance(86_400_000);
    ws.land('landing/b.csv', csv('id,v', [[2, 'b']]));
    await ws.run();
    expect(await batches(ws)).toEqual([1, 2]);
    ws.clock.advance(1.5 * 86_400_000);
    ws.land('landing/c.csv', csv('id,v', [[3, 'c']]));
    await ws.run();
    expect(await batches(ws)).toEqual([2, 3]);
  });

  it('forever keeps every batch; a stage-only pipeline keeps its rows by default', async () => {
    ws = new Workspace(yaml({ path: './tables/stage', retain: 'forever' }));
    ws.land('landing/a.csv', csv('id,v', [[1, 'a']]));
    await ws.run();
    ws.clock.advance(365 * 86_400_000);
    ws.land('landing/b.csv', csv('id,v', [[2, 'b']]));
    await ws.run();
    expect(await batches(ws)).toEqual([1, 2]);
    expect(ws.config().pipelines[0].stageRetain).toBe('forever');
    const stageOnly = new Workspace(yaml('./tables/stage', { target: undefined }));
    try {
      expect(stageOnly.config().pipelines[0].stageRetain).toBe('forever');
    } finally {
      stageOnly.cleanup();
    }
  });

  it('a batch in flight keeps its stage rows: a crash after staging is recovered from the stage', async () => {
    ws = new Workspace(yaml({ path: './tables/stage', retain: 'truncate-after-merge' }));
    ws.land('landing/a.csv', csv('id,v', [[1, 'a']]));
    await ws.run();
    ws.land('landing/b.csv', csv('id,v', [[2, 'b']]));
    const args = ['run', '--once', '-c', ws.configFile, '--log-format', 'json'];
    expect((await lakelet(args, { env: { LAKELET_CRASH_AT: 'after-archive' } })).signal).toBe('SIGKILL');
    expect(await batches(ws)).toEqual([2]);
    const redo = await lakelet(args);
    expect(redo.code, redo.stderr).toBe(0);
    expect((await ws.rows('tables/target', 'id')).map((r) => Number(r.id))).toEqual([1, 2]);
    expect(await batches(ws)).toEqual([]);
  });
});
