import { afterEach, describe, expect, it } from 'vitest';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

/**
 * One row per key from a batch: the latest by orderBy, then by arrival (the file's place in the
 * batch, then the record's place in its file). The file's place comes from a join to the batch's
 * (file, place) pairs (issue 13, point 5), a lone file's from one comparison.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

describe('a batch of several files with the same key', () => {
  it('keeps the row of the file that arrived last when orderBy ties, whatever the names', async () => {
    ws = new Workspace(pipelineYaml({ pattern: '*.csv', format: 'csv', orderBy: 'updated' }));
    // Arrival order c, a, b (names sort otherwise); key 2 is decided by orderBy alone.
    ws.land('landing/c.csv', csv('id,updated,v', [[1, 5, 'c'], [2, 9, 'newest']]));
    ws.land('landing/a.csv', csv('id,updated,v', [[1, 5, 'a'], [2, 1, 'older']]));
    ws.land('landing/b.csv', csv('id,updated,v', [[1, 5, 'b-first'], [1, 5, 'b-last'], [1, 4, 'b-older']]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ batches: 1, files: 3, rowsInserted: 2 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.v])).toEqual([
      ['1', 'b-last'],
      ['2', 'newest'],
    ]);
  });

  it('keeps the last record of a lone file when orderBy ties', async () => {
    ws = new Workspace(pipelineYaml({ pattern: '*.csv', format: 'csv', orderBy: 'updated' }));
    ws.land('landing/a.csv', csv('id,updated,v', [[1, 5, 'first'], [1, 5, 'last'], [1, 4, 'older']]));
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => r.v)).toEqual(['last']);
  });
});
