import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

/** Schema drift policies: the first file establishes the stage columns; later files drift. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (policy: string) => pipelineYaml({ schemaDrift: policy });

async function twoBatches(policy: string): Promise<Workspace> {
  const w = new Workspace(yaml(policy));
  w.land('landing/1.csv', csv('id,n', [[1, 10]]));
  await w.run();
  // A new column, and a value that does not fit n's established BIGINT.
  w.land('landing/2.csv', csv('id,n,extra', [[2, 20, 'e2'], [3, 'oops', 'e3']]));
  await w.run();
  return w;
}

describe('schema drift', () => {
  it('evolve: new columns are added to stage and target', async () => {
    ws = new Workspace(yaml('evolve'));
    ws.land('landing/1.csv', csv('id,n', [[1, 10]]));
    await ws.run();
    ws.land('landing/2.csv', csv('id,n,extra', [[2, 20, 'e2']]));
    await ws.run();
    expect(await ws.rows('tables/target', 'id')).toEqual([
      { id: '1', n: '10', extra: null },
      { id: '2', n: '20', extra: 'e2' },
    ]);
    expect(Object.keys((await ws.rows('tables/stage', 'id'))[0])).toContain('extra');
  });

  it('evolve: a later file without the new column updates its key as the stage holds it (the column NULL)', async () => {
    ws = new Workspace(yaml('evolve'));
    ws.land('landing/1.csv', csv('id,n,extra', [[1, 10, 'e1'], [2, 20, 'e2']]));
    await ws.run();
    ws.land('landing/2.csv', csv('id,n', [[2, 21]]));
    await ws.run();
    const stage = (await ws.rows('tables/stage', 'id')).filter((r) => r.id === '2' && r.n === '21');
    expect(stage.map((r) => r.extra)).toEqual([null]);
    expect(await ws.rows('tables/target', 'id')).toEqual([
      { id: '1', n: '10', extra: 'e1' },
      { id: '2', n: '21', extra: null },
    ]);
  });

  it('evolve: a value that does not cast to the established type quarantines the file', async () => {
    ws = await twoBatches('evolve');
    const err = ws.files('quarantine').find((f) => f.endsWith('2.csv.error.json'))!;
    expect(JSON.parse(readFileSync(join(ws.dir, 'quarantine', err), 'utf8'))).toMatchObject({ kind: 'cast', hint: expect.stringContaining('rescue') });
  });

  it('rescue: new columns and uncastable values go into _rescued_data', async () => {
    ws = await twoBatches('rescue');
    const stage = await ws.rows('tables/stage', 'id');
    expect(stage.map((r) => [r.id, r.n, r._rescued_data])).toEqual([
      ['1', '10', null],
      ['2', '20', '{"extra":"e2"}'],
      ['3', null, '{"n":"oops","extra":"e3"}'],
    ]);
    expect(Object.keys(stage[0])).not.toContain('extra');
    const log = await ws.log();
    expect(log[1]).toMatchObject({ file_name: '2.csv', status: 'merged', rows_rescued: '2' });
    expect((await ws.rows('tables/target', 'id')).map((r) => r._rescued_data)).toEqual([null, '{"extra":"e2"}', '{"n":"oops","extra":"e3"}']);
  });

  it('fail: a file with a new column is quarantined, the table is unchanged', async () => {
    ws = await twoBatches('fail');
    const err = ws.files('quarantine').find((f) => f.endsWith('2.csv.error.json'))!;
    expect(JSON.parse(readFileSync(join(ws.dir, 'quarantine', err), 'utf8'))).toMatchObject({ kind: 'schema', error: expect.stringContaining("'extra'") });
    expect((await ws.rows('tables/target', 'id')).length).toBe(1);
  });

  it('ignore: new columns are dropped', async () => {
    ws = new Workspace(yaml('ignore'));
    ws.land('landing/1.csv', csv('id,n', [[1, 10]]));
    await ws.run();
    ws.land('landing/2.csv', csv('id,n,extra', [[2, 20, 'e2']]));
    await ws.run();
    expect(await ws.rows('tables/target', 'id')).toEqual([
      { id: '1', n: '10' },
      { id: '2', n: '20' },
    ]);
  });
});

describe('type changes between files', () => {
  it('a lossy cast to the established type is never silent: quarantined (evolve) or rescued (rescue)', async () => {
    for (const policy of ['evolve', 'rescue']) {
      const w = new Workspace(yaml(policy));
      try {
        w.land('landing/1.csv', csv('id,n', [[1, 10]]));
        await w.run();
        w.land('landing/2.csv', csv('id,n', [[2, 2.0], [3, 1.5]]));
        await w.run();
        const rows = await w.rows('tables/stage', 'id');
        if (policy === 'evolve') {
          expect(rows.map((r) => r.n)).toEqual(['10']);
          const err = w.files('quarantine').find((f) => f.endsWith('2.csv.error.json'))!;
          expect(JSON.parse(readFileSync(join(w.dir, 'quarantine', err), 'utf8')).error).toContain('value 1.5 does not fit column n BIGINT');
        } else {
          expect(rows.map((r) => [r.n, r._rescued_data])).toEqual([['10', null], ['2', null], [null, '{"n":"1.5"}']]);
        }
      } finally {
        w.cleanup();
      }
    }
  });
});
