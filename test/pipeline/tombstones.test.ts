import { afterEach, describe, expect, it } from 'vitest';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';

/** Deleted keys stay deleted (issue 8, point 4). */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const HEADER = 'id,v,ts,op';
const yaml = (keys: PipelineKeys = {}) => pipelineYaml({ pattern: '*.csv', orderBy: 'ts', deletes: { column: 'op', values: ['D'] }, ...keys }, { stateDir: './state' });

const initial = csv(HEADER, [
  [1, 'a', '2024-01-01 00:00:00', 'I'],
  [2, 'b', '2024-01-01 00:00:00', 'I'],
  [3, 'c', '2024-01-01 00:00:00', 'I'],
]);
const deletes = csv(HEADER, [
  [1, 'a', '2024-01-03 00:00:00', 'D'],
  [2, 'b', '2024-01-03 00:00:00', 'D'],
]);
/** An older change to keys deleted since, in a file with other bytes (not a duplicate). */
const lateOlder = csv(HEADER, [
  [1, 'a-late', '2024-01-02 00:00:00', 'U'],
  [2, 'b-late', '2024-01-02 00:00:00', 'U'],
  [3, 'c-late', '2024-01-02 00:00:00', 'U'],
]);

async function ids(w: Workspace): Promise<[number, string][]> {
  return (await w.rows('tables/target', 'id')).map((r) => [Number(r.id), String(r.v)]);
}

describe('deleted keys stay deleted', () => {
  it('a late copy of an older file under another name is a duplicate of what was applied, not applied again', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/initial.csv', initial);
    await ws.run();
    ws.land('landing/deletes.csv', deletes);
    await ws.run();
    expect(await ids(ws)).toEqual([[3, 'c']]);
    ws.land('landing/initial-copy.csv', initial);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 1, duplicates: 1, staged: 0, rowsInserted: 0 });
    expect(await ids(ws)).toEqual([[3, 'c']]);
    const row = (await ws.log()).find((r) => r.file_name === 'initial-copy.csv')!;
    expect(row).toMatchObject({ status: 'duplicate', error: expect.stringContaining('initial.csv in batch 1') });
  });

  it('with duplicates: name-and-content the copy is applied, and the tombstones still keep the deleted keys out', async () => {
    ws = new Workspace(yaml({ duplicates: 'name-and-content' }));
    ws.land('landing/initial.csv', initial);
    await ws.run();
    ws.land('landing/deletes.csv', deletes);
    await ws.run();
    ws.land('landing/initial-copy.csv', initial);
    ws.land('landing/late.csv', lateOlder);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ duplicates: 0, staged: 2, rowsInserted: 0 });
    expect(await ids(ws)).toEqual([[3, 'c-late']]);
  });

  it('an older row in a later batch never resurrects a deleted key; a newer one does', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/initial.csv', initial);
    await ws.run();
    ws.land('landing/deletes.csv', deletes);
    await ws.run();
    ws.land('landing/late.csv', lateOlder);
    await ws.run();
    expect(await ids(ws)).toEqual([[3, 'c-late']]);
    ws.land('landing/revive.csv', csv(HEADER, [[1, 'a-revived', '2024-01-04 00:00:00', 'I']]));
    await ws.run();
    expect(await ids(ws)).toEqual([
      [1, 'a-revived'],
      [3, 'c-late'],
    ]);
  });

  it('a crash between the tombstones and the MERGE redoes the same MERGE', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/initial.csv', initial);
    await ws.run();
    ws.land('landing/deletes.csv', deletes);
    await ws.run();
    // This batch both deletes key 3 and carries older rows of keys deleted before.
    ws.land('landing/late.csv', lateOlder + '3,c,2024-01-05 00:00:00,D\n');
    const args = ['run', '--once', '-c', ws.configFile, '--log-format', 'json'];
    expect((await lakelet(args, { env: { LAKELET_CRASH_AT: 'after-tombstones' } })).signal).toBe('SIGKILL');
    const redo = await lakelet(args);
    expect(redo.code, redo.stderr).toBe(0);
    expect(await ids(ws)).toEqual([]);
    ws.land('landing/later.csv', csv(HEADER, [[3, 'c-older', '2024-01-04 00:00:00', 'U']]));
    await ws.run();
    expect(await ids(ws)).toEqual([]);
  });
});
